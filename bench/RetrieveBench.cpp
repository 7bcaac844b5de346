// One retrieval of one instance with the client core (Pacs::retrieve: C-MOVE to our storage SCP,
// or C-GET, as the configuration says, with or without DICOM TLS), timed. For tls_move.sh.
// Usage: iodeep_retrieve_bench CONFIG STUDY SERIES SOP DIR; prints
// {"ms": <wall time>, "bytes": <received>} on one line.
#include <chrono>
#include <exception>
#include <iostream>

#include "iodeep/network/Pacs.hpp"
#include "iodeep/workflow/ClientConfig.hpp"

int main(int argc, char** argv) {
  if (argc != 6) {
    std::cerr << "usage: iodeep_retrieve_bench CONFIG STUDY SERIES SOP DIR\n";
    return 2;
  }
  try {
    const auto config = iodeep::client::loadClientConfig(argv[1]);
    const iodeep::client::Pacs pacs(config.network);
    const auto start = std::chrono::steady_clock::now();
    const auto r = pacs.retrieve(iodeep::client::QueryLevel::Image, argv[2], argv[3], argv[4], argv[5]);
    const std::chrono::duration<double, std::milli> ms = std::chrono::steady_clock::now() - start;
    std::cout << "{\"ms\": " << ms.count() << ", \"bytes\": " << r.bytes << "}\n";
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "iodeep_retrieve_bench: " << e.what() << "\n";
    return 6;
  }
}
