// The one place a store's directory is made: private to this user, a failure named for the store.
#include "StoreDirectory.hpp"

#include <string>

#include "iodeep/iod/AtomicFile.hpp"
#include "iodeep/iod/Error.hpp"

namespace iodeep::client::detail {

void createStoreDirectory(const std::filesystem::path& directory, std::string_view what) {
  try {
    iod::createPrivateDirectory(directory);
  } catch (const Error& e) {
    throw Error(ErrorCode::OutputError, "cannot create the " + std::string(what) + ": " + std::string(e.what()),
                ErrorContext{.file = directory.string()});
  }
}

}  // namespace iodeep::client::detail
