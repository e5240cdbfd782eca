from recommender.cli.main import main

main()
