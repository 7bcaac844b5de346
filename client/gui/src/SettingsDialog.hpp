#pragma once
// Connection and reviewer settings: the same client configuration file as the CLI
// (docs/pacs-workflow.md). The dialog edits a copy; the window saves it (client::saveClientConfig).

#include <QDialog>

#include "iodeep/workflow/ClientConfig.hpp"

class QCheckBox;
class QComboBox;
class QGroupBox;
class QLineEdit;
class QPlainTextEdit;
class QSpinBox;
class QLabel;

namespace iodeep::gui {

class SettingsDialog : public QDialog {
  Q_OBJECT
 public:
  SettingsDialog(const client::ClientConfig& config, QWidget* parent = nullptr);

  /// The configuration with the dialog's values. Throws Error(InvalidArgument) for a value the
  /// core refuses (an AE title too long, no host).
  [[nodiscard]] client::ClientConfig config() const;

  QLineEdit* pacsAe{nullptr};
  QLineEdit* pacsUrl{nullptr};  ///< a DICOMweb PACS: its base URL (then AE title, host and port are unused)
  QLineEdit* pacsHost{nullptr};
  QSpinBox* pacsPort{nullptr};
  QLineEdit* ourAe{nullptr};
  QComboBox* retrieve{nullptr};
  QSpinBox* movePort{nullptr};
  QLineEdit* moveAe{nullptr};
  QLineEdit* reviewer{nullptr};
  QLineEdit* serviceUrl{nullptr};  ///< the inference service (empty: predict here)
  QLineEdit* serviceTokenFile{nullptr};
  QLineEdit* serviceCa{nullptr};
  // DICOM TLS (docs/security.md): the group's check box turns it on
  QGroupBox* tls{nullptr};
  QLineEdit* tlsCertificate{nullptr};
  QLineEdit* tlsKey{nullptr};
  QPlainTextEdit* tlsTrusted{nullptr};  ///< one file or directory per line
  QCheckBox* tlsVerifyPeer{nullptr};
  QLabel* tlsWarning{nullptr};  ///< shown while the peer is not verified
  QLabel* problem{nullptr};     ///< why Save was refused

 private:
  void accept() override;
  client::ClientConfig base_;
};

}  // namespace iodeep::gui
