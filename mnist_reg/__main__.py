from mnist_reg.sweep import main

main()
