// PC module
