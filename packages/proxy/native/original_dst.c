/*
 * SO_ORIGINAL_DST for Weft's proxy: the destination a connection had before
 * iptables REDIRECT/TPROXY rewrote it (registered in addon.c):
 *   originalDst(fd: number): string | null   ("ip:port", IPv6 as "[ip]:port")
 * null when the socket has no NAT entry (ENOENT) — the caller then uses the
 * local address, as Envoy does.
 */
#include <node_api.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include "addon.h"

#ifndef SO_ORIGINAL_DST
#define SO_ORIGINAL_DST 80
#endif
#ifndef IP6T_SO_ORIGINAL_DST
#define IP6T_SO_ORIGINAL_DST 80
#endif

napi_value original_dst(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_value result;
  int32_t fd;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 ||
      napi_get_value_int32(env, argv[0], &fd) != napi_ok) {
    napi_throw_type_error(env, NULL, "originalDst(fd): fd must be a number");
    return NULL;
  }
  struct sockaddr_storage ss;
  socklen_t len = sizeof(ss);
  char ip[INET6_ADDRSTRLEN];
  char out[INET6_ADDRSTRLEN + 16];
  memset(&ss, 0, sizeof(ss));
  if (getsockopt(fd, SOL_IP, SO_ORIGINAL_DST, &ss, &len) == 0 && ss.ss_family == AF_INET) {
    struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
    inet_ntop(AF_INET, &sin->sin_addr, ip, sizeof(ip));
    snprintf(out, sizeof(out), "%s:%u", ip, ntohs(sin->sin_port));
  } else {
    len = sizeof(ss);
    memset(&ss, 0, sizeof(ss));
    if (getsockopt(fd, SOL_IPV6, IP6T_SO_ORIGINAL_DST, &ss, &len) == 0 && ss.ss_family == AF_INET6) {
      struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
      inet_ntop(AF_INET6, &sin6->sin6_addr, ip, sizeof(ip));
      snprintf(out, sizeof(out), "[%s]:%u", ip, ntohs(sin6->sin6_port));
    } else {
      napi_get_null(env, &result);
      return result;
    }
  }
  napi_create_string_utf8(env, out, NAPI_AUTO_LENGTH, &result);
  return result;
}
