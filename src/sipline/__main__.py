from sipline.cli.main import main

main()
