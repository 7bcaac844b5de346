#pragma once
// The one place a store's directory is made (model cache, image cache, outbox).
#include <filesystem>
#include <string_view>

namespace iodeep::client::detail {

/// Creates @p directory for the store called @p what ("model cache"), private to this user:
/// mode 0700 (iod::createPrivateDirectory; an existing one of this user is tightened to it).
/// Throws Error(OutputError) "cannot create the <what>: <why>" naming the directory, also when it
/// belongs to another user.
void createStoreDirectory(const std::filesystem::path& directory, std::string_view what);

}  // namespace iodeep::client::detail
