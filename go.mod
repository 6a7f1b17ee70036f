module github.com/licensectl/licensectl

go 1.26.8
