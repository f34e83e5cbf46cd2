module kiln.dev/bench/goproxy

go 1.22
