import type { Message, MessageReader, MessageWriter } from 'vscode-jsonrpc';
import { classifyMessage } from '../../protocol/index.js';

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
          void writer.write({ jsonrpc: '2.0', id: null, error: classified.error.toObject() } as unknown as Message);
          return;
        }
        callback(message);
      }),
    dispose: () => reader.dispose(),
  };
}
