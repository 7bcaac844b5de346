// iodeep-viewer: the physician's window over the same client core and configuration as the CLI.
#include <QApplication>
#include <QCommandLineParser>
#include <iostream>

#include "MainWindow.hpp"
#include "iodeep/iod/Error.hpp"
#include "iodeep/iod/Logging.hpp"
#include "iodeep/workflow/Predict.hpp"

int main(int argc, char** argv) {
  QApplication app(argc, argv);
  iodeep::iod::setToolkitLogging(false);  // problems reach the window as errors
  QApplication::setApplicationName("iodeep-viewer");
  QApplication::setApplicationVersion(IODEEP_VERSION);
  QCommandLineParser parser;
  parser.setApplicationDescription("Browse the PACS, read slices, AI ROI, review and store ROIs.");
  parser.addHelpOption();
  parser.addVersionOption();
  const QCommandLineOption configOption("config", "client configuration file (docs/pacs-workflow.md)", "FILE");
  const QCommandLineOption pacsOption("pacs", "the PACS as AET@host:port (overrides the configuration)", "PEER");
  const QCommandLineOption reviewerOption("reviewer", "ReviewerName (overrides the configuration)", "PN");
  parser.addOptions({configOption, pacsOption, reviewerOption});
  parser.process(app);

  iodeep::client::ClientConfig config;
  QString problem;
  try {
    config = iodeep::client::loadClientConfig(parser.value(configOption).toStdString());
    if (parser.isSet(pacsOption)) {
      config.network.pacs = iodeep::client::Peer::parse(parser.value(pacsOption).toStdString());
    }
    if (parser.isSet(reviewerOption)) config.reviewer = parser.value(reviewerOption).toStdString();
  } catch (const iodeep::Error& e) {
    // the window opens anyway, with the problem shown and the settings to fix it
    std::cerr << "iodeep-viewer: " << e.what() << "\n";
    problem = QString::fromStdString(e.what());
  }
  int code = 0;
  {
    iodeep::gui::MainWindow window(std::move(config), problem);
    window.show();
    code = QApplication::exec();
  }
  iodeep::client::awaitInferenceLoad();  // libtorch may still be loading (closed at once)
  return code;
}
