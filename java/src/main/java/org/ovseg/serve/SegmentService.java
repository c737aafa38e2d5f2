package org.ovseg.serve;

import java.util.Map;

/** What a {@link SegmentServer} runs for each request; called from several worker threads at once. */
public interface SegmentService {
    /**
     * @return the response JSON (serialized by the server)
     * @throws org.ovseg.OvsegException for bad input (answered 400 with its message)
     */
    Map<String, Object> segment(SegmentRequest request);

    /** @return what {@code GET /healthz} reports about the model */
    Map<String, Object> describe();
}
