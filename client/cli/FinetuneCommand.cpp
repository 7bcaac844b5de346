// `iodeep finetune`: a network fine-tuned on a dataset from the PACS, written as its next version.
#include <unistd.h>

#include <boost/program_options.hpp>
#include <cmath>
#include <cstdio>
#include <iostream>

#include "Commands.hpp"
#include "iodeep/workflow/Finetune.hpp"

namespace po = boost::program_options;

namespace iodeep::cli {

namespace {

std::string duration(double seconds) {
  const auto s = static_cast<long>(std::lround(seconds));
  return s >= 60 ? std::to_string(s / 60) + " min " + std::to_string(s % 60) + " s" : std::to_string(s) + " s";
}

}  // namespace

int finetuneCommand(const std::vector<std::string>& args) {
  client::FinetuneOptions o;
  std::string network;
  std::string dataset;
  std::string output;
  bool json = false;
  bool trainBatchNorm = false;
  int threads = 0;
  SigningFlags signing;
  auto& t = o.training;
  po::options_description desc(
      "usage: iodeep finetune --network model.dcm --dataset DIR -o new.dcm [options]\n\n"
      "Fine-tunes the network in libtorch on a dataset written by 'iodeep dataset' from its own proposals\n"
      "(docs/finetuning.md): Adam, Dice + cross-entropy, batch-norm statistics frozen unless told, early stopping\n"
      "on the validation patients, seeded. Prints the validation Dice before and after and writes the next\n"
      "version as a new IODeep object (new DnnUID, its predecessor named, the training recorded); the original\n"
      "is never replaced. Publish it with 'iodeep upload'.\n\nOptions");
  desc.add_options()                                                                                             //
      ("help,h", "show this help")                                                                               //
      ("network", po::value(&network), "the IODeep object to start from")                                        //
      ("dataset", po::value(&dataset), "the dataset directory ('iodeep dataset')")                               //
      ("output,o", po::value(&output), "the new IODeep object (written atomically)")                             //
      ("epochs", po::value(&t.epochs)->default_value(30), "at most this many epochs")                            //
      ("batch-size", po::value(&t.batchSize)->default_value(4), "slices per step")                               //
      ("learning-rate", po::value(&t.learningRate)->default_value(1e-4), "Adam's learning rate")                 //
      ("weight-decay", po::value(&t.weightDecay)->default_value(0.0), "Adam's L2 term")                          //
      ("patience", po::value(&t.patience)->default_value(5), "epochs without a better validation loss; 0: all")  //
      ("seed", po::value(&t.seed)->default_value(1), "shuffling and dropout")                                    //
      ("train-batchnorm", po::bool_switch(&trainBatchNorm),
       "update batch-norm statistics (default: frozen, for small sets)")                     //
      ("threads", po::value(&threads)->default_value(0), "libtorch threads (0: the cores)")  //
      ("json", po::bool_switch(&json), "print the result as JSON");
  signing.add(desc);
  if (!parseOptions(args, desc)) return kExitOk;
  if (network.empty() || dataset.empty() || output.empty()) {
    throw Error(ErrorCode::InvalidArgument, "--network, --dataset and -o are required");
  }
  o.network = network;
  o.dataset = dataset;
  o.output = output;
  t.freezeBatchNorm = !trainBatchNorm;
  o.signing = signing.resolve();
  o.threads = threads;
  const bool tty = isatty(STDERR_FILENO) != 0;
  o.onEpoch = [tty](const netparser::EpochReport& e) {
    char line[200];
    std::snprintf(line, sizeof line, "epoch %d/%d  loss %.4f  validation loss %.4f  Dice %.4f%s  %s, %s left", e.epoch,
                  e.epochs, e.trainLoss, e.validationLoss, e.validationDice, e.best ? " (best)" : "",
                  duration(e.seconds).c_str(), duration(e.secondsLeft).c_str());
    // one line per epoch; on a terminal the line is rewritten in place
    std::cerr << (tty ? "\r\033[K" : "") << line << (tty ? "" : "\n") << std::flush;
    return true;
  };
  const auto r = client::finetune(o);
  if (tty) std::cerr << "\n";
  std::cout << (json ? r.toJson() : r.toText());
  return kExitOk;
}

}  // namespace iodeep::cli
