{
  "targets": [
    {
      "target_name": "weft_socket",
      "sources": ["addon.c", "original_dst.c", "reuse_port.c", "keepalive.c", "startup_pages.c"],
      "cflags": ["-O2", "-Wall"]
    }
  ]
}
