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
  /// Builds the workstation; a configuration the core refuses (no PACS yet) leaves none, with
  /// the reason in problem().
  explicit WorkstationHolder(client::ClientConfig config);

  [[nodiscard]] const client::ClientConfig& config() const noexcept { return config_; }
  /// The workstation, or null when the configuration was refused (problem() says why).
  [[nodiscard]] std::shared_ptr<client::Workstation> workstation() const { return ws_; }
  [[nodiscard]] const QString& problem() const noexcept { return problem_; }
  /// A new configuration: a new workstation replaces the old one.
  void replace(client::ClientConfig config);

 private:
  client::ClientConfig config_;
  std::shared_ptr<client::Workstation> ws_;
  QString problem_;
};

}  // namespace iodeep::gui
