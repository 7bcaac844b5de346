#include "Metrics.hpp"

#include <sstream>

namespace iodeep::service::detail {

void Metrics::observe(const std::string& route, int status, double seconds) {
  const std::lock_guard lock(mutex_);
  ++requests_[{route, status}];
  auto& h = latency_[route];
  for (std::size_t i = 0; i < kBuckets.size(); ++i) {
    if (seconds <= kBuckets[i]) ++h.counts[i];
  }
  ++h.count;
  h.sum += seconds;
}

namespace {
void header(std::ostringstream& o, const char* name, const char* type, const char* help) {
  o << "# HELP " << name << ' ' << help << "\n# TYPE " << name << ' ' << type << '\n';
}
template <typename T>
void single(std::ostringstream& o, const char* name, const char* type, const char* help, T value) {
  header(o, name, type, help);
  o << name << ' ' << value << '\n';
}
}  // namespace

std::string Metrics::text(const Gauges& g) const {
  std::ostringstream o;
  {
    const std::lock_guard lock(mutex_);
    header(o, "iodeep_http_requests_total", "counter", "HTTP requests answered, by route and status.");
    for (const auto& [key, n] : requests_) {
      o << "iodeep_http_requests_total{route=\"" << key.first << "\",status=\"" << key.second << "\"} " << n << '\n';
    }
    header(o, "iodeep_http_request_duration_seconds", "histogram",
           "Time from the request's arrival to its answer, by route.");
    for (const auto& [route, h] : latency_) {
      for (std::size_t i = 0; i < kBuckets.size(); ++i) {
        o << "iodeep_http_request_duration_seconds_bucket{route=\"" << route << "\",le=\"" << kBuckets[i] << "\"} "
          << h.counts[i] << '\n';
      }
      o << "iodeep_http_request_duration_seconds_bucket{route=\"" << route << "\",le=\"+Inf\"} " << h.count << '\n'
        << "iodeep_http_request_duration_seconds_sum{route=\"" << route << "\"} " << h.sum << '\n'
        << "iodeep_http_request_duration_seconds_count{route=\"" << route << "\"} " << h.count << '\n';
    }
  }
  single(o, "iodeep_inference_queue_depth", "gauge", "Jobs waiting for an inference thread.", g.queueDepth);
  single(o, "iodeep_inference_queue_limit", "gauge", "Jobs the queue holds before it answers 503.", g.queueLimit);
  single(o, "iodeep_inference_running", "gauge", "Jobs running on the inference threads.", g.running);
  single(o, "iodeep_requests_in_flight", "gauge", "Requests received and not yet answered.", inFlight.load());
  single(o, "iodeep_rejected_queue_full_total", "counter", "Requests refused with 503 because the queue was full.",
         rejectedQueueFull.load());
  single(o, "iodeep_deadline_exceeded_total", "counter", "Requests answered 504 past their deadline.",
         deadlineExceeded.load());
  single(o, "iodeep_network_builds_total", "counter", "Networks built by the inference engine.", g.engineBuilds);
  single(o, "iodeep_network_evictions_total", "counter", "Networks dropped from the engine for its memory budget.",
         g.engineEvictions);
  single(o, "iodeep_engine_networks", "gauge", "Networks kept built in memory.", g.engineNetworks);
  single(o, "iodeep_engine_bytes", "gauge", "Bytes of the networks kept built.", g.engineBytes);
  single(o, "iodeep_networks_built_ahead_total", "counter", "Networks fetched and built when first listed.",
         networksBuiltAhead.load());
  single(o, "iodeep_model_cache_hits_total", "counter", "Networks found in the model cache (no bytes moved).",
         modelCacheHits.load());
  single(o, "iodeep_model_cache_misses_total", "counter", "Networks retrieved from the PACS into the model cache.",
         modelCacheMisses.load());
  single(o, "iodeep_engine_hits_total", "counter", "Predictions on a network already built.", engineHits.load());
  single(o, "iodeep_engine_misses_total", "counter", "Predictions that built their network.", engineMisses.load());
  single(o, "iodeep_retrieved_bytes_total", "counter", "Bytes retrieved from the PACS (slices and networks).",
         bytesRetrieved.load());
  single(o, "iodeep_idempotent_replays_total", "counter", "Structure-set requests answered with their first result.",
         idempotentReplays.load());
  single(o, "iodeep_network_listings_total", "counter", "Discoveries of the network list sent to the PACS.",
         networkListings.load());
  single(o, "iodeep_networks_listed", "gauge", "Networks in the last discovery.", g.networksListed);
  single(o, "iodeep_ready", "gauge", "1 when /readyz answers 200.", g.ready ? 1 : 0);
  single(o, "iodeep_draining", "gauge", "1 once the service is shutting down.", g.draining ? 1 : 0);
  return o.str();
}

}  // namespace iodeep::service::detail
