#pragma once
/// @file BrowseReport.hpp
/// What C-FIND found (studies, series, instances, networks, structure sets) as the command line
/// and the viewer show it: a table (text) or a JSON array.

#include <string>
#include <vector>

#include "iodeep/network/Query.hpp"
#include "iodeep/stores/ModelCache.hpp"
#include "iodeep/workflow/StructureSets.hpp"

namespace iodeep::client {

/// `iodeep models`: the networks with name and version (from the series description), modality,
/// body part, samples per pixel, and DnnUID and size when the model is in @p cache.
[[nodiscard]] std::string modelsReport(const std::vector<RemoteModel>& models, const ModelCache& cache, bool json);

/// Reports for the command line and the viewer: a table (text) or a JSON array.
[[nodiscard]] std::string toText(const std::vector<StudyInfo>& studies);
[[nodiscard]] std::string toJson(const std::vector<StudyInfo>& studies);
[[nodiscard]] std::string toText(const std::vector<SeriesInfo>& series);
[[nodiscard]] std::string toJson(const std::vector<SeriesInfo>& series);
[[nodiscard]] std::string toText(const std::vector<InstanceInfo>& instances);
[[nodiscard]] std::string toJson(const std::vector<InstanceInfo>& instances);
[[nodiscard]] std::string toText(const std::vector<StructureSetOnPacs>& sets);
[[nodiscard]] std::string toJson(const std::vector<StructureSetOnPacs>& sets);

}  // namespace iodeep::client
