#pragma once
// What several parts of the window show the same way: strings from the core, proposal areas and
// verdicts, and the review's colours (proposed red, approved green, rejected grey).

#include <QColor>
#include <QObject>
#include <QString>
#include <string>

#include "iodeep/netparser/Prediction.hpp"
#include "iodeep/workflow/Review.hpp"

namespace iodeep::gui {

inline QString q(const std::string& s) {
  return QString::fromStdString(s);
}

inline QString areaText(const netparser::Proposal& p) {
  if (p.areaMm2 >= 0) return QString::number(p.areaMm2, 'f', 1) + " mm²";
  return QString::number(p.areaPixels) + " px";
}

inline QString verdictText(client::Verdict v) {
  switch (v) {
    case client::Verdict::Approved: return QObject::tr("approved");
    case client::Verdict::Rejected: return QObject::tr("rejected");
    case client::Verdict::Pending: break;
  }
  return QObject::tr("to review");
}

inline QColor verdictColor(client::Verdict v) {
  switch (v) {
    case client::Verdict::Approved: return {40, 200, 60};
    case client::Verdict::Rejected: return {130, 130, 130};
    case client::Verdict::Pending: break;
  }
  return {230, 30, 30};
}

}  // namespace iodeep::gui
