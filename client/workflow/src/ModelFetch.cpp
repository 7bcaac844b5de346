// The chosen network made local (cache or PACS), its description confirmed, its signature judged.
#include "iodeep/workflow/ModelFetch.hpp"

#include <array>
#include <span>

#include "Timing.hpp"
#include "iodeep/iod/Error.hpp"
#include "iodeep/iod/IodeepObject.hpp"
#include "iodeep/selector/BodyParts.hpp"

namespace iodeep::client {

namespace fs = std::filesystem;
using detail::Clock;
using detail::ms;

namespace {

// The object confirms its description (docs/security.md): the selection attributes the PACS gave
// at C-FIND, which chose it, must be the object's own (the object's win: they are the signed
// ones). What the PACS did not say is not compared.
void confirmDescription(const RemoteModel& described, const CachedModel& object) {
  std::string differences;
  const auto compare = [&](const char* name, const std::string& atFind, const std::string& own) {
    // as the selector compares labels (case, spaces and underscores normalised)
    if (atFind.empty() || selector::normaliseLabel(atFind) == selector::normaliseLabel(own)) return;
    differences += std::string(differences.empty() ? "" : "; ") + name + " is '" + own + "' in the object, '" + atFind +
                   "' at C-FIND";
  };
  compare("Modality", described.modality, object.modality);
  compare("BodyPartExamined", described.bodyPartExamined, object.bodyPartExamined);
  compare("SamplesPerPixel", described.samplesPerPixel == 0 ? "" : std::to_string(described.samplesPerPixel),
          std::to_string(object.samplesPerPixel));
  compare("PhotometricInterpretation", described.photometricInterpretation, object.photometricInterpretation);
  if (differences.empty()) return;
  throw Error(ErrorCode::DescriptionMismatch, "the object does not match its description on the PACS: " + differences,
              ErrorContext{.uid = object.sopInstanceUid});
}

}  // namespace

ModelFetch fetchModel(Workstation& ws, const RemoteModel& chosen, const fs::path& workDir,
                      const RetrieveProgressHandler& onRetrieving) {
  const auto t = Clock::now();
  ModelCache& cache = ws.models();
  ModelFetch f;
  if (auto cached = cache.findBySopInstance(chosen.sopInstanceUid)) {
    f.model = std::move(*cached);
    f.fromCache = true;
  } else {
    const Pacs& pacs = ws.pacs();
    const auto got =
        pacs.retrieve(QueryLevel::Image, chosen.studyInstanceUid, chosen.seriesInstanceUid, chosen.sopInstanceUid,
                      workDir, {std::string(iod::kRawDataStorageUid)}, onRetrieving);
    f.bytesMoved = got.bytes;
    f.model = cache.admit(got.files.front());
  }
  try {
    confirmDescription(chosen, f.model);  // before trust is decided and anything is built
  } catch (const Error&) {
    cache.drop(std::move(f.model));  // a PACS that lies about its networks cannot fill our cache
    throw;
  }
  f.trust = decideNetworkTrust(ws.trust(), f.model.signatures);
  enforceNetworkTrust(f.trust, f.model.file, f.model.sopInstanceUid);  // never built when refused
  f.ms = ms(t, Clock::now());
  return f;
}

std::optional<ModelFetch> fetchSelectedModel(Workstation& ws, SelectionReport& r, const fs::path& workDir,
                                             const RetrieveProgressHandler& onRetrieving) {
  while (r.selection.matched()) {
    const std::size_t index = *r.selection.chosen;
    try {
      auto fetched = fetchModel(ws, r.models.at(index), workDir, onRetrieving);
      // judged again with the object's own values: what the PACS did not say at C-FIND (e.g.
      // SamplesPerPixel) was passed as "checked on the retrieved object"; this is that check
      selector::Candidate own = r.candidates[index];
      own.modality = fetched.model.modality;
      own.bodyPartExamined = fetched.model.bodyPartExamined;
      own.samplesPerPixel = fetched.model.samplesPerPixel;
      own.photometricInterpretation = fetched.model.photometricInterpretation;
      const auto again = selector::select(r.query, std::span<const selector::Candidate>(&own, 1));
      if (again.matched()) return fetched;
      std::string why = "the object's own attributes do not fit the slice";
      for (const auto& check : again.verdicts.front().checks) {
        if (check.passed) continue;
        why += std::string(": ") + std::string(selector::toString(check.criterion)) + " is '" + check.network +
               "' in the object, '" + check.slice + "' in the slice";
        break;
      }
      r.candidates[index].refusal = why;
      r.selection = selector::reselect(r.query, r.candidates, std::move(r.selection), std::array{index});
    } catch (const Error& e) {
      if (exitCodeFor(e.code()) != kExitContent) throw;
      r.candidates[index].refusal = e.detail();  // e.g. "refused by the model cache: SHA-256 mismatch: ..."
      r.selection = selector::reselect(r.query, r.candidates, std::move(r.selection), std::array{index});
    }
  }
  return std::nullopt;
}

}  // namespace iodeep::client
