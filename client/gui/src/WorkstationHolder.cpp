#include "WorkstationHolder.hpp"

#include "iodeep/iod/Error.hpp"

namespace iodeep::gui {

WorkstationHolder::WorkstationHolder(client::ClientConfig config) {
  replace(std::move(config));
}

void WorkstationHolder::replace(client::ClientConfig config) {
  config_ = std::move(config);
  try {
    ws_ = std::make_shared<client::Workstation>(config_);
    problem_ = QString::fromStdString(ws_->pacsProblem());
  } catch (const Error& e) {
    ws_.reset();
    problem_ = QString::fromStdString(e.what());
  }
}

}  // namespace iodeep::gui
