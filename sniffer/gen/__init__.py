"""Traffic generators, ping, multicast tools: stdlib sockets; never imports ui."""
