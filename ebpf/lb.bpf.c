// VIP load balancing at connect time (cgroup sock_addr hooks on the node's cgroup).
//
// A task's connect() to VIP:port is rewritten, before the kernel routes it, to a backend chosen
// uniformly among the service's weighted slots. The connection then runs between the task and
// the backend with no per-packet translation: nothing to time out (unlike IPVS's 900 s idle
// timer), nothing to lose when the agent restarts. Unconnected UDP gets the same choice once per
// socket (sendmsg4), and replies are shown as coming from the VIP (recvmsg4). A service with no
// backend refuses at once (the program returns 0: connect fails with EPERM instead of hanging).
// linux/bpf.h defines the types the libbpf headers use: it must come first.
#include <linux/bpf.h>

#include <bpf/bpf_helpers.h>
#include <linux/in.h>

#include "ebpf/lb_maps.h"

char LICENSE[] SEC("license") = "GPL";

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 1024); /* resized by the loader */
  __type(key, struct shoal_lb_frontend);
  __type(value, struct shoal_lb_service);
} shoal_lb_services SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 65536); /* resized by the loader */
  __type(key, struct shoal_lb_slot_key);
  __type(value, struct shoal_lb_backend);
} shoal_lb_slots SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_SK_STORAGE);
  __uint(map_flags, BPF_F_NO_PREALLOC);
  __type(key, int);
  __type(value, struct shoal_lb_udp_binding);
} shoal_lb_udp SEC(".maps");

static __always_inline const struct shoal_lb_backend* pick(struct bpf_sock_addr* ctx,
                                                           int* refused) {
  struct shoal_lb_frontend key = {
      .vip = ctx->user_ip4, .port = (__u16)ctx->user_port, .proto = (__u8)ctx->protocol};
  const struct shoal_lb_service* service = bpf_map_lookup_elem(&shoal_lb_services, &key);
  *refused = 0;
  if (!service) {
    key.port = 0; /* a VIP that takes every port, as Swarm's does */
    service = bpf_map_lookup_elem(&shoal_lb_services, &key);
  }
  if (!service) {
    return 0; /* not a VIP: leave the connection alone */
  }
  __u32 count = service->slot_count;
  if (count == 0 || count > SHOAL_LB_MAX_SLOTS) {
    *refused = 1;
    return 0;
  }
  struct shoal_lb_slot_key slot = {
      .service_id = service->id,
      .index = (service->generation & 1) * SHOAL_LB_MAX_SLOTS + bpf_get_prandom_u32() % count};
  const struct shoal_lb_backend* backend = bpf_map_lookup_elem(&shoal_lb_slots, &slot);
  if (!backend) {
    *refused = 1;
  }
  return backend;
}

static __always_inline int bind_udp(struct bpf_sock_addr* ctx, const struct shoal_lb_backend* b) {
  struct shoal_lb_udp_binding* binding =
      bpf_sk_storage_get(&shoal_lb_udp, ctx->sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
  if (binding) {
    binding->vip = ctx->user_ip4;
    binding->vip_port = (__u16)ctx->user_port;
    binding->backend_ip = b->ip;
    binding->backend_port = b->port != 0 ? b->port : (__u16)ctx->user_port;
  }
  return 1;
}

/* Points the socket address at the backend; a backend port of 0 keeps the port asked for. */
static __always_inline void steer(struct bpf_sock_addr* ctx, const struct shoal_lb_backend* b) {
  ctx->user_ip4 = b->ip;
  if (b->port != 0) {
    ctx->user_port = b->port;
  }
}

SEC("cgroup/connect4")
int shoal_connect4(struct bpf_sock_addr* ctx) {
  if (ctx->protocol != IPPROTO_TCP && ctx->protocol != IPPROTO_UDP) {
    return 1;
  }
  int refused;
  const struct shoal_lb_backend* backend = pick(ctx, &refused);
  if (!backend) {
    return refused ? 0 : 1;
  }
  if (ctx->protocol == IPPROTO_UDP) {
    bind_udp(ctx, backend);
  }
  steer(ctx, backend);
  return 1;
}

SEC("cgroup/sendmsg4")
int shoal_sendmsg4(struct bpf_sock_addr* ctx) {
  if (ctx->protocol != IPPROTO_UDP) {
    return 1;
  }
  /* The same backend for every datagram of a socket to the same VIP, as long as it is bound. */
  struct shoal_lb_udp_binding* binding = bpf_sk_storage_get(&shoal_lb_udp, ctx->sk, 0, 0);
  if (binding && binding->vip == ctx->user_ip4 && binding->vip_port == (__u16)ctx->user_port) {
    ctx->user_ip4 = binding->backend_ip;
    ctx->user_port = binding->backend_port;
    return 1;
  }
  int refused;
  const struct shoal_lb_backend* backend = pick(ctx, &refused);
  if (!backend) {
    return refused ? 0 : 1;
  }
  bind_udp(ctx, backend);
  steer(ctx, backend);
  return 1;
}

SEC("cgroup/recvmsg4")
int shoal_recvmsg4(struct bpf_sock_addr* ctx) {
  struct shoal_lb_udp_binding* binding = bpf_sk_storage_get(&shoal_lb_udp, ctx->sk, 0, 0);
  if (binding && binding->backend_ip == ctx->user_ip4 &&
      binding->backend_port == (__u16)ctx->user_port) {
    ctx->user_ip4 = binding->vip;
    ctx->user_port = binding->vip_port;
  }
  return 1;
}
