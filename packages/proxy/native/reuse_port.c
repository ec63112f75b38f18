/*
 * listenReusePort(ip: string, port: number, backlog: number): number
 *
 * A TCP socket bound to ip:port with SO_REUSEPORT (and SO_REUSEADDR) set
 * before bind, listening, returned as a file descriptor for
 * net.Server.listen({ fd }). Each worker thread of a --concurrency N proxy
 * binds its own such socket to the same address and the kernel spreads new
 * connections across them, as Envoy's workers do (enable_reuse_port). Node
 * gained `reusePort` in 22.12 / 23.1; this serves older versions. Throws an
 * Error worded like Node's ("bind EADDRINUSE: address already in use …"),
 * with `code` set.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "addon.h"

static const char *errno_code(int e) {
  switch (e) {
    case EADDRINUSE: return "EADDRINUSE";
    case EADDRNOTAVAIL: return "EADDRNOTAVAIL";
    case EACCES: return "EACCES";
    case EAFNOSUPPORT: return "EAFNOSUPPORT";
    case EINVAL: return "EINVAL";
    case EMFILE: return "EMFILE";
    case ENFILE: return "ENFILE";
    default: return "ESYSCALL";
  }
}

/* Worded as Node's own listen errors: "bind EADDRINUSE: address already in use 127.0.0.1:80". */
static napi_value fail(napi_env env, const char *call, int e, const char *ip, int port) {
  char why[128];
  char msg[256];
  snprintf(why, sizeof(why), "%s", strerror(e));
  why[0] = (char)tolower((unsigned char)why[0]);
  snprintf(msg, sizeof(msg), "%s %s: %s %s:%d", call, errno_code(e), why, ip, port);
  napi_throw_error(env, errno_code(e), msg);
  return NULL;
}

napi_value listen_reuse_port(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  char ip[64];
  size_t ip_len = 0;
  int32_t port, backlog;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 3 ||
      napi_get_value_string_utf8(env, argv[0], ip, sizeof(ip), &ip_len) != napi_ok ||
      napi_get_value_int32(env, argv[1], &port) != napi_ok || napi_get_value_int32(env, argv[2], &backlog) != napi_ok ||
      port < 0 || port > 65535) {
    napi_throw_type_error(env, NULL, "listenReusePort(ip, port, backlog): ip must be a string, port 0-65535, backlog a number");
    return NULL;
  }
  struct sockaddr_storage ss;
  socklen_t len;
  memset(&ss, 0, sizeof(ss));
  struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
  struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
  if (inet_pton(AF_INET, ip, &sin->sin_addr) == 1) {
    sin->sin_family = AF_INET;
    sin->sin_port = htons((uint16_t)port);
    len = sizeof(*sin);
  } else if (inet_pton(AF_INET6, ip, &sin6->sin6_addr) == 1) {
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons((uint16_t)port);
    len = sizeof(*sin6);
  } else {
    napi_throw_type_error(env, "EINVAL", "listenReusePort: not an IPv4 or IPv6 address");
    return NULL;
  }
  int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return fail(env, "socket", errno, ip, port);
  int one = 1;
  if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
      setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0) {
    int e = errno;
    close(fd);
    return fail(env, "setsockopt", e, ip, port);
  }
  /* "::" accepts IPv4 too, as Node's listen() does for an IPv6 wildcard. */
  if (ss.ss_family == AF_INET6) {
    int zero = 0;
    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
  }
  if (bind(fd, (struct sockaddr *)&ss, len) != 0) {
    int e = errno;
    close(fd);
    return fail(env, "bind", e, ip, port);
  }
  if (listen(fd, backlog > 0 ? backlog : 511) != 0) {
    int e = errno;
    close(fd);
    return fail(env, "listen", e, ip, port);
  }
  napi_value result;
  napi_create_int32(env, fd, &result);
  return result;
}
