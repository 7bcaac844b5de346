#pragma once
// The viewer's configuration and the one client::Workstation built from it (the PACS, the model
// and image caches, the outbox, the trust policy, the inference engine), which every core call of
// the window's parts uses. Settings replace both; a background job captures the shared_ptr it
// started with and keeps it until it ends.

#include <QString>
#include <memory>

#include "iodeep/workflow/ClientConfig.hpp"
#include "iodeep/workflow/Workstation.hpp"

namespace iodeep::gui {

class WorkstationHolder {
 public:
  /// Builds the workstation; network settings the core refuses (no PACS yet) leave it without a
  /// PACS (its calls fail with the reason, in problem() too): the outbox is still listed.
  explicit WorkstationHolder(client::ClientConfig config);

  [[nodiscard]] const client::ClientConfig& config() const noexcept { return config_; }
  /// The workstation (null only if it could not be built at all; problem() says why).
  [[nodiscard]] std::shared_ptr<client::Workstation> workstation() const { return ws_; }
  /// Empty, or why the configuration's PACS cannot be used.
  [[nodiscard]] const QString& problem() const noexcept { return problem_; }
  /// A new configuration: a new workstation replaces the old one.
  void replace(client::ClientConfig config);

 private:
  client::ClientConfig config_;
  std::shared_ptr<client::Workstation> ws_;
  QString problem_;
};

}  // namespace iodeep::gui
