#include "dataplane/firewall/nft_runner.h"

#include <nftables/libnftables.h>

#include <cerrno>

namespace shoal::dataplane::firewall {
namespace {

struct NftCtxDeleter {
  void operator()(nft_ctx* ctx) const { nft_ctx_free(ctx); }
};
using NftCtx = std::unique_ptr<nft_ctx, NftCtxDeleter>;

template <typename F>
auto in_ns(const std::optional<Netns>& ns, F&& fn) -> std::invoke_result_t<F&> {
  if (ns)
    return run_in_netns(*ns, fn);
  return fn();
}

std::string trimmed(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' '))
    text.pop_back();
  return text;
}

}  // namespace

struct LibnftablesRunner::Context {
  std::optional<Netns> ns;
  NftCtx nft;
  std::string where;  // "in netns X", for messages
};

LibnftablesRunner::LibnftablesRunner(std::unique_ptr<Context> context)
    : context_(std::move(context)) {}
LibnftablesRunner::~LibnftablesRunner() = default;

Result<std::unique_ptr<LibnftablesRunner>> LibnftablesRunner::open(std::optional<Netns> ns) {
  auto context = std::make_unique<Context>();
  context->where = ns ? "in netns " + ns->label() : "in this netns";
  // Made inside the namespace: some libnftables versions open their netlink socket here.
  Status made = in_ns(ns, [&]() -> Status {
    context->nft.reset(nft_ctx_new(NFT_CTX_DEFAULT));
    if (!context->nft)
      return sys_error("open nftables context", context->where, ENOMEM);
    // Output and errors into buffers: a failure's text goes into the Error, never to stderr.
    nft_ctx_buffer_output(context->nft.get());
    nft_ctx_buffer_error(context->nft.get());
    return {};
  });
  SHOAL_TRY(made);
  context->ns = std::move(ns);
  return std::unique_ptr<LibnftablesRunner>(new LibnftablesRunner(std::move(context)));
}

Status LibnftablesRunner::apply(const std::string& script) {
  return in_ns(context_->ns, [&]() -> Status {
    if (nft_run_cmd_from_buffer(context_->nft.get(), script.c_str()) != 0) {
      return sys_error("apply nftables script", context_->where, 0,
                       trimmed(nft_ctx_get_error_buffer(context_->nft.get())));
    }
    return {};
  });
}

}  // namespace shoal::dataplane::firewall
