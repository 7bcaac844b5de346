#include "SettingsDialog.hpp"

#include <QCheckBox>
#include <QComboBox>
#include <QDialogButtonBox>
#include <QFormLayout>
#include <QGroupBox>
#include <QLabel>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QSpinBox>
#include <QVBoxLayout>

#include "iodeep/iod/Error.hpp"

namespace iodeep::gui {

SettingsDialog::SettingsDialog(const client::ClientConfig& config, QWidget* parent) : QDialog(parent), base_(config) {
  setWindowTitle(tr("Connection settings"));
  const auto& n = config.network;
  auto* form = new QFormLayout;
  pacsUrl = new QLineEdit(QString::fromStdString(n.pacs.url));
  pacsUrl->setPlaceholderText(tr("empty: DIMSE with the AE title, host and port below"));
  pacsAe = new QLineEdit(QString::fromStdString(n.pacs.aeTitle));
  pacsAe->setMaxLength(16);
  pacsHost = new QLineEdit(QString::fromStdString(n.pacs.host));
  pacsPort = new QSpinBox;
  pacsPort->setRange(1, 65535);
  pacsPort->setValue(n.pacs.port == 0 ? 104 : n.pacs.port);
  ourAe = new QLineEdit(QString::fromStdString(n.callingAeTitle));
  ourAe->setMaxLength(16);
  retrieve = new QComboBox;
  retrieve->addItem(tr("C-MOVE to our storage SCP"), "move");
  retrieve->addItem(tr("C-GET"), "get");
  retrieve->setCurrentIndex(n.retrieve == client::RetrieveMode::Move ? 0 : 1);
  movePort = new QSpinBox;
  movePort->setRange(1, 65535);
  movePort->setValue(n.movePort);
  moveAe = new QLineEdit(QString::fromStdString(n.moveAeTitle));
  moveAe->setMaxLength(16);
  moveAe->setPlaceholderText(tr("same as our AE title"));
  reviewer = new QLineEdit(QString::fromStdString(config.reviewer));
  reviewer->setPlaceholderText(tr("Family^Given"));
  form->addRow(tr("DICOMweb PACS (https://host/dicom-web)"), pacsUrl);
  form->addRow(tr("PACS AE title"), pacsAe);
  form->addRow(tr("PACS host"), pacsHost);
  form->addRow(tr("PACS port"), pacsPort);
  form->addRow(tr("Our AE title"), ourAe);
  form->addRow(tr("Retrieve with"), retrieve);
  form->addRow(tr("Move destination port"), movePort);
  form->addRow(tr("Move destination AE title"), moveAe);
  form->addRow(tr("Reviewer name"), reviewer);
  const auto& s = config.inferenceService;
  serviceUrl = new QLineEdit(QString::fromStdString(s.url));
  serviceUrl->setPlaceholderText(tr("empty: run networks on this workstation"));
  serviceTokenFile = new QLineEdit(QString::fromStdString(s.tokenFile.string()));
  serviceTokenFile->setPlaceholderText(tr("file holding our bearer token"));
  serviceCa = new QLineEdit(QString::fromStdString(s.caFile.string()));
  serviceCa->setPlaceholderText(tr("CA certificate of an https service, PEM"));
  form->addRow(tr("Inference service (http(s)://host:port)"), serviceUrl);
  form->addRow(tr("Service token file"), serviceTokenFile);
  form->addRow(tr("Service CA certificate"), serviceCa);

  const auto& t = n.tls;
  tls = new QGroupBox(tr("DICOM TLS (every association, and the PACS's C-MOVE to us)"));
  tls->setCheckable(true);
  tls->setChecked(t.enabled);
  tlsCertificate = new QLineEdit(QString::fromStdString(t.certificate.string()));
  tlsCertificate->setPlaceholderText(tr("our certificate, PEM"));
  tlsKey = new QLineEdit(QString::fromStdString(t.privateKey.string()));
  tlsKey->setPlaceholderText(tr("its private key, PEM"));
  QStringList trusted;
  for (const auto& p : t.trustedCertificates) trusted << QString::fromStdString(p.string());
  tlsTrusted = new QPlainTextEdit(trusted.join('\n'));
  tlsTrusted->setPlaceholderText(tr("CA certificates that verify the PACS: PEM files or directories, one per line"));
  tlsTrusted->setMaximumHeight(tlsTrusted->fontMetrics().lineSpacing() * 4);
  tlsVerifyPeer = new QCheckBox(tr("Verify the PACS's certificate and host name"));
  tlsVerifyPeer->setChecked(t.verifyPeer);
  tlsWarning =
      new QLabel(tr("Without verification anyone on the network can pretend to be the PACS: the "
                    "connection is encrypted, but not to whom."));
  tlsWarning->setStyleSheet("color: #c00000");
  tlsWarning->setWordWrap(true);
  tlsWarning->setVisible(!t.verifyPeer);
  connect(tlsVerifyPeer, &QCheckBox::toggled, tlsWarning, [this](bool on) { tlsWarning->setVisible(!on); });
  auto* tlsForm = new QFormLayout(tls);
  tlsForm->addRow(tr("Our certificate"), tlsCertificate);
  tlsForm->addRow(tr("Our private key"), tlsKey);
  tlsForm->addRow(tr("Trusted certificates"), tlsTrusted);
  tlsForm->addRow(tlsVerifyPeer);
  tlsForm->addRow(tlsWarning);

  problem = new QLabel;
  problem->setStyleSheet("color: #c00000");
  problem->setWordWrap(true);
  auto* buttons = new QDialogButtonBox(QDialogButtonBox::Save | QDialogButtonBox::Cancel);
  connect(buttons, &QDialogButtonBox::accepted, this, &SettingsDialog::accept);
  connect(buttons, &QDialogButtonBox::rejected, this, &SettingsDialog::reject);
  auto* layout = new QVBoxLayout(this);
  layout->addLayout(form);
  layout->addWidget(tls);
  layout->addWidget(problem);
  layout->addWidget(new QLabel(tr("Saved to %1").arg(QString::fromStdString(client::configSavePath(config).string()))));
  layout->addWidget(buttons);
}

client::ClientConfig SettingsDialog::config() const {
  client::ClientConfig c = base_;
  auto& n = c.network;
  const auto url = pacsUrl->text().trimmed().toStdString();
  if (url.empty()) {
    n.pacs = client::Peer{};
    n.pacs.aeTitle = pacsAe->text().trimmed().toStdString();
    n.pacs.host = pacsHost->text().trimmed().toStdString();
    n.pacs.port = static_cast<std::uint16_t>(pacsPort->value());
  } else {
    n.pacs = client::Peer::parse(url);  // Error(InvalidArgument) is shown as the dialog's problem
  }
  n.callingAeTitle = ourAe->text().trimmed().toStdString();
  n.retrieve = retrieve->currentData().toString() == "move" ? client::RetrieveMode::Move : client::RetrieveMode::Get;
  n.movePort = static_cast<std::uint16_t>(movePort->value());
  n.moveAeTitle = moveAe->text().trimmed().toStdString();
  c.reviewer = reviewer->text().trimmed().toStdString();
  c.inferenceService.url = serviceUrl->text().trimmed().toStdString();
  c.inferenceService.tokenFile = serviceTokenFile->text().trimmed().toStdString();
  c.inferenceService.caFile = serviceCa->text().trimmed().toStdString();
  auto& t = n.tls;
  t.enabled = tls->isChecked();
  t.certificate = tlsCertificate->text().trimmed().toStdString();
  t.privateKey = tlsKey->text().trimmed().toStdString();
  t.trustedCertificates.clear();
  for (const auto& line : tlsTrusted->toPlainText().split('\n', Qt::SkipEmptyParts)) {
    if (!line.trimmed().isEmpty()) t.trustedCertificates.emplace_back(line.trimmed().toStdString());
  }
  t.verifyPeer = tlsVerifyPeer->isChecked();
  n.validate();
  // with TLS, our certificate, key and the trusted certificates are read now (a wrong passphrase, a
  // key of another certificate): refused here rather than at the first association
  if (t.enabled || n.pacs.isWeb()) (void)client::Pacs(n);
  // the same rules as the configuration file
  (void)client::parseClientConfig(client::toJson(c), "the settings");
  return c;
}

void SettingsDialog::accept() {
  try {
    (void)config();
    QDialog::accept();
  } catch (const Error& e) {
    problem->setText(QString::fromStdString(e.what()));
  }
}

}  // namespace iodeep::gui
