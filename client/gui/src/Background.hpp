#pragma once
// Work off the UI thread: a core call runs in a thread pool, its result (or its error as one
// readable line) comes back on the UI thread. Progress is posted to the UI thread the same way.
// No DICOM, selection or torch logic here: the work is a client-core call.
//
// Not in Qt's global pool: Qt 6's raster engine splits its painting and image conversions into
// tasks on QThreadPool::globalInstance() and the UI thread waits for them, so two long core calls
// holding the global pool's threads (two on two cores) would freeze every repaint until one ends.

#include <QFutureWatcher>
#include <QObject>
#include <QString>
#include <QThread>
#include <QThreadPool>
#include <QtConcurrent/QtConcurrentRun>
#include <algorithm>
#include <exception>
#include <functional>
#include <memory>
#include <optional>

#include "iodeep/iod/Error.hpp"

namespace iodeep::gui {

/// What a background call ended with: a value, or an error (its code and one line).
template <typename T>
struct Outcome {
  std::optional<T> value;
  std::optional<ErrorCode> code;
  QString error;
};

/// Runs @p work in @p pool; @p done gets the Outcome on @p context's thread (not at all when
/// @p context is gone by then).
template <typename T>
void runInBackground(QObject* context, QThreadPool* pool, std::function<T()> work,
                     std::function<void(Outcome<T>)> done) {
  auto* watcher = new QFutureWatcher<Outcome<T>>(context);  // owned by context, deleted when finished
  QObject::connect(watcher, &QFutureWatcher<Outcome<T>>::finished, context, [watcher, done = std::move(done)] {
    done(watcher->result());
    watcher->deleteLater();
  });
  watcher->setFuture(QtConcurrent::run(pool, [work = std::move(work)]() -> Outcome<T> {
    Outcome<T> out;
    try {
      out.value.emplace(work());
    } catch (const Error& e) {
      out.code = e.code();
      out.error = QString::fromStdString(e.what());
    } catch (const std::exception& e) {
      out.code = ErrorCode::Internal;
      out.error = QString::fromStdString(e.what());
    }
    return out;
  }));
}

/// The viewer's pool for core calls (the PACS, the caches, the outbox, AI ROI): at least four
/// threads, as most of them wait for the network. Never Qt's global pool (see above).
[[nodiscard]] inline QThreadPool* workPool() {
  static QThreadPool* const pool = [] {
    static QThreadPool p;
    p.setMaxThreadCount(std::max(4, QThread::idealThreadCount()));
    return &p;
  }();
  return pool;
}

/// The same in the viewer's work pool.
template <typename T>
void runInBackground(QObject* context, std::function<T()> work, std::function<void(Outcome<T>)> done) {
  runInBackground<T>(context, workPool(), std::move(work), std::move(done));
}

/// Calls @p f on @p context's thread (queued): for progress reports from a background call.
inline void postToUi(QObject* context, std::function<void()> f) {
  QMetaObject::invokeMethod(context, std::move(f), Qt::QueuedConnection);
}

}  // namespace iodeep::gui
