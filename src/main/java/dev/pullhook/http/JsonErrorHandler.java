package dev.pullhook.http;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.handler.ErrorHandler;
import org.eclipse.jetty.util.Callback;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * The answers Jetty gives by itself, before any route (a malformed request line or header, a bad
 * Content-Length, header fields or a target over 8 KiB), in the same short JSON as pullhook's own errors,
 * {@code {"status":"bad request","error":"..."}} ({@link Answer#error}), instead of Jetty's HTML page. No stack
 * trace, ever.
 */
final class JsonErrorHandler extends ErrorHandler {
    private static final ObjectMapper JSON = new ObjectMapper();

    JsonErrorHandler() {
        setShowStacks(false);
    }

    @Override
    protected void generateResponse(Request request, Response response, int code, String message, Throwable cause,
                                    Callback callback) {
        byte[] bytes;
        try {
            bytes = JSON.writeValueAsBytes(Answer.error(code, message));
        } catch (JsonProcessingException e) {
            bytes = "{\"status\":\"error\",\"error\":\"error\"}".getBytes(StandardCharsets.UTF_8);
        }
        response.getHeaders().put(HttpHeader.CONTENT_TYPE, "application/json");
        response.write(true, ByteBuffer.wrap(bytes), callback);
    }
}
