// A baseline for `npm run bench:router`: Go's httputil.ReverseProxy in front of one upstream, with a
// keep-alive transport. Run with GOMAXPROCS=1. Prints its listening address on stdout once ready.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"time"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "address to listen on")
	target := flag.String("target", "", "upstream URL, e.g. http://127.0.0.1:9000")
	socket := flag.String("socket", "", "connect to the upstream on this Unix socket instead (the URL then only names the host)")
	flag.Parse()
	u, err := url.Parse(*target)
	if err != nil || *target == "" {
		log.Fatalf("bad -target %q", *target)
	}
	proxy := httputil.NewSingleHostReverseProxy(u)
	dialer := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	dial := dialer.DialContext
	if *socket != "" {
		dial = func(ctx context.Context, _, _ string) (net.Conn, error) { return dialer.DialContext(ctx, "unix", *socket) }
	}
	proxy.Transport = &http.Transport{
		MaxIdleConns:        8192,
		MaxIdleConnsPerHost: 8192,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
		DialContext:         dial,
	}
	proxy.ErrorLog = log.New(os.Stderr, "goproxy: ", 0)
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(ln.Addr().String())
	log.Fatal(http.Serve(ln, proxy))
}
