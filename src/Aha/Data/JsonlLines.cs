namespace Aha.Data;

/// <summary>
/// Streams the lines of a file as UTF-8 bytes with their 1-based numbers, never holding more than one line:
/// bytes (not strings) so invalid UTF-8 is reported by the JSON parser at its own line instead of being replaced silently.
/// </summary>
static class JsonlLines
{
    /// <summary>Each non-blank line; the memory is valid until the next item.</summary>
    public static IEnumerable<(int Number, ReadOnlyMemory<byte> Bytes)> Read(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
        var chunk = new byte[1 << 16];
        var line = new byte[1 << 12];
        int lineLength = 0, number = 0;
        bool first = true;
        while (true)
        {
            int read = stream.Read(chunk);
            int start = 0;
            for (int i = 0; i < read; i++)
            {
                if (chunk[i] != (byte)'\n') continue;
                Append(chunk.AsSpan(start, i - start));
                start = i + 1;
                number++;
                if (Finish() is { } bytes) yield return (number, bytes);
            }
            Append(chunk.AsSpan(start, read - start));
            if (read == 0) break;
        }
        number++;
        if (Finish() is { } last) yield return (number, last);

        void Append(ReadOnlySpan<byte> bytes)
        {
            if (lineLength + bytes.Length > line.Length) Array.Resize(ref line, Math.Max(line.Length * 2, lineLength + bytes.Length));
            bytes.CopyTo(line.AsSpan(lineLength));
            lineLength += bytes.Length;
        }

        ReadOnlyMemory<byte>? Finish()
        {
            var bytes = line.AsMemory(0, lineLength);
            lineLength = 0;
            if (first && bytes.Span.StartsWith("\uFEFF"u8)) bytes = bytes[3..];
            first = false;
            if (bytes.Span.EndsWith("\r"u8)) bytes = bytes[..^1];
            return bytes.Span.Trim(" \t"u8).IsEmpty ? (ReadOnlyMemory<byte>?)null : bytes;
        }
    }
}
