using System.Text;
using System.Text.Json;

namespace Aha.Distillation;

/// <summary>
/// One teacher trace as <c>traces.jsonl</c> keeps it: which request it answers (problem index, sample), the problem, the
/// completion as the student will learn it (the reasoning inside <c>&lt;think&gt;</c>, then the answer), what it cost and
/// the verifier's verdict.
/// </summary>
/// <param name="Reasoning">The reasoning apart, as the teacher gave it (an endpoint's <c>reasoning_content</c> or think block); null when it gave none.</param>
/// <param name="Tokens">Completion tokens as the teacher counted them.</param>
public sealed record TeacherTrace(int Problem, int Sample, string Id, string Prompt, string Answer, string Completion, string? Reasoning,
    int Tokens, string FinishReason, string? Extracted, bool Correct);

/// <summary>
/// The append-only trace log that makes collection resumable: one JSON line per trace, written and flushed to disk as
/// soon as the trace arrives, so a crash loses at most the requests in flight and a rerun asks only for the rest.
/// A torn last line (the crash hit mid-write) is dropped on open; a damaged line elsewhere is an error naming it.
/// </summary>
public sealed class TraceFile : IDisposable
{
    static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping, // "</answer>" stays readable
    };
    readonly FileStream _stream;
    readonly Lock _gate = new();

    TraceFile(FileStream stream, string path) => (_stream, Path) = (stream, path);

    public string Path { get; }

    /// <summary>Opens (creating) <paramref name="path"/> for appending and returns the traces already in it.</summary>
    public static (TraceFile File, IReadOnlyList<TeacherTrace> Existing) Open(string path)
    {
        string? dir = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path));
        if (dir is not null) Directory.CreateDirectory(dir);
        var stream = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.Read);
        try
        {
            var existing = new List<TeacherTrace>();
            var bytes = new byte[stream.Length];
            stream.ReadExactly(bytes);
            int end = Array.LastIndexOf(bytes, (byte)'\n') + 1; // bytes after the last newline are a torn write
            var lines = Encoding.UTF8.GetString(bytes, 0, end).Split('\n');
            for (int i = 0; i < lines.Length; i++)
            {
                if (string.IsNullOrWhiteSpace(lines[i])) continue;
                try
                {
                    existing.Add(JsonSerializer.Deserialize<TeacherTrace>(lines[i], Json) ?? throw new JsonException("the line is null"));
                }
                catch (JsonException e)
                {
                    throw new InvalidDataException($"{path}:{i + 1}: not a trace ({e.Message}); delete that line and rerun (its trace is requested again).");
                }
            }
            if (end < bytes.Length)
            {
                stream.SetLength(end);
                stream.Flush(flushToDisk: true);
            }
            stream.Seek(0, SeekOrigin.End);
            return (new TraceFile(stream, path), existing);
        }
        catch
        {
            stream.Dispose();
            throw;
        }
    }

    /// <summary>Appends one trace and flushes it to disk before returning; safe to call from several threads.</summary>
    public void Append(TeacherTrace trace)
    {
        byte[] line = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(trace, Json) + "\n");
        lock (_gate)
        {
            _stream.Write(line);
            _stream.Flush(flushToDisk: true);
        }
    }

    public void Dispose() => _stream.Dispose();
}
