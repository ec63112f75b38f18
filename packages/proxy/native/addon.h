/* The functions of Weft's socket addon, registered by addon.c. */
#ifndef WEFT_SOCKET_ADDON_H
#define WEFT_SOCKET_ADDON_H
#include <node_api.h>

napi_value original_dst(napi_env env, napi_callback_info info);
napi_value listen_reuse_port(napi_env env, napi_callback_info info);
napi_value set_keep_alive(napi_env env, napi_callback_info info);
napi_value release_startup_pages(napi_env env, napi_callback_info info);

#endif
