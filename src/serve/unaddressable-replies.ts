import type { Message, MessageReader, MessageWriter } from 'vscode-jsonrpc';
import { ErrorCodes, classifyMessage } from '../../protocol/index.js';

/**
 * Wraps a reader so that a message which cannot be answered by its id — not an object, a batch,
 * a broken envelope without a usable id — gets the JSON-RPC 2.0 error response with `id: null`
 * instead of being skipped silently. For the server's external clients, who need to learn why
 * nothing came back; component-server connections keep the quieter default.
 */
export function replyToUnaddressableMessages(reader: MessageReader, writer: MessageWriter): MessageReader {
  return {
    onError: reader.onError,
    onClose: reader.onClose,
    onPartialMessage: reader.onPartialMessage,
    listen: (callback) =>
      reader.listen((message) => {
        const classified = classifyMessage(message);
        if (classified.kind === 'invalid' && classified.id === null) {
          replyWithoutId(writer, classified.error.toObject());
          return;
        }
        callback(message);
      }),
    dispose: () => reader.dispose(),
  };
}

/** Answers a frame that is not JSON (or is binary) with the JSON-RPC parse error, `id: null`. */
export function replyParseError(writer: MessageWriter, reason: 'binary' | 'not-json'): void {
  const message = reason === 'binary' ? 'Parse error: binary frames are not accepted; send JSON text frames' : 'Parse error: the frame is not valid JSON';
  replyWithoutId(writer, { code: ErrorCodes.ParseError, message });
}

function replyWithoutId(writer: MessageWriter, error: { code: number; message: string; data?: unknown }): void {
  void writer.write({ jsonrpc: '2.0', id: null, error } as unknown as Message);
}
