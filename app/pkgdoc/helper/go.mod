module depot.invalid/godoc

go 1.22
