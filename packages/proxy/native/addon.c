/*
 * Weft's socket addon: the two socket calls Node does not expose.
 *   originalDst(fd)                        SO_ORIGINAL_DST (original_dst.c)
 *   listenReusePort(ip, port, backlog)     a SO_REUSEPORT listening socket (reuse_port.c)
 * No global state: it loads in every worker thread of a process.
 */
#include "addon.h"

static void export_function(napi_env env, napi_value exports, const char *name, napi_callback cb) {
  napi_value fn;
  napi_create_function(env, name, NAPI_AUTO_LENGTH, cb, NULL, &fn);
  napi_set_named_property(env, exports, name, fn);
}

NAPI_MODULE_INIT() {
  export_function(env, exports, "originalDst", original_dst);
  export_function(env, exports, "listenReusePort", listen_reuse_port);
  return exports;
}
