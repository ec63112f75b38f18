/*
 * TCP keepalive as Envoy's upstream_connection_options.tcp_keepalive sets it
 * (registered in addon.c):
 *   setKeepAlive(fd, idleS, intervalS, probes): { idle, interval, probes }
 * SO_KEEPALIVE on, then TCP_KEEPIDLE / TCP_KEEPINTVL / TCP_KEEPCNT for each
 * argument above 0 (0 keeps the system's value, as an unset field does in
 * Envoy). Returns the values in effect afterwards, read back from the socket.
 * Node's own setKeepAlive sets the idle time only.
 */
#include <node_api.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include "addon.h"

static int get_int(int fd, int level, int name) {
  int v = -1;
  socklen_t len = sizeof(v);
  return getsockopt(fd, level, name, &v, &len) == 0 ? v : -1;
}

static void set_prop(napi_env env, napi_value obj, const char *name, int v) {
  napi_value n;
  napi_create_int32(env, v, &n);
  napi_set_named_property(env, obj, name, n);
}

napi_value set_keep_alive(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  int32_t fd, idle, interval, probes;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 4 ||
      napi_get_value_int32(env, argv[0], &fd) != napi_ok || napi_get_value_int32(env, argv[1], &idle) != napi_ok ||
      napi_get_value_int32(env, argv[2], &interval) != napi_ok || napi_get_value_int32(env, argv[3], &probes) != napi_ok) {
    napi_throw_type_error(env, NULL, "setKeepAlive(fd, idleS, intervalS, probes): four numbers");
    return NULL;
  }
  int on = 1;
  int failed = setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof(on));
  if (!failed && idle > 0) failed = setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
  if (!failed && interval > 0) failed = setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &interval, sizeof(interval));
  if (!failed && probes > 0) failed = setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &probes, sizeof(probes));
  if (failed) {
    napi_throw_error(env, NULL, strerror(errno));
    return NULL;
  }
  napi_value result;
  napi_create_object(env, &result);
  set_prop(env, result, "idle", get_int(fd, IPPROTO_TCP, TCP_KEEPIDLE));
  set_prop(env, result, "interval", get_int(fd, IPPROTO_TCP, TCP_KEEPINTVL));
  set_prop(env, result, "probes", get_int(fd, IPPROTO_TCP, TCP_KEEPCNT));
  return result;
}
