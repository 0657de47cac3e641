from mnist_reg.sweep import run

run()
