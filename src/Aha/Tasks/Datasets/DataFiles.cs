using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Parquet.Serialization;

namespace Aha.Tasks.Datasets;

/// <summary>
/// Reads records from <c>.jsonl</c> (one JSON object per line; blank lines skipped) or <c>.parquet</c>
/// (Hugging Face dataset exports, through Parquet.Net). Lazy for JSONL so a large file streams.
/// </summary>
public static class DataFiles
{
    public static IEnumerable<DataRow> Read(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: no such file. Check the path.", path);
        return Path.GetExtension(path).ToLowerInvariant() switch
        {
            ".parquet" => ReadParquet(path),
            _ => ReadJsonl(path),
        };
    }

    public static IEnumerable<DataRow> ReadJsonl(string path)
    {
        var name = Path.GetFileName(path);
        var line = 0;
        foreach (var text in File.ReadLines(path))
        {
            line++;
            if (string.IsNullOrWhiteSpace(text)) continue;
            yield return ParseLine(name, line, text);
        }
    }

    static DataRow ParseLine(string file, int line, string text)
    {
        JsonNode? node;
        try { node = JsonNode.Parse(text); }
        catch (JsonException e)
        {
            return new DataRow(file, line, new Dictionary<string, string?>()) { Error = $"not valid JSON ({e.Message.Split(". ")[0]})" };
        }
        if (node is not JsonObject obj)
            return new DataRow(file, line, new Dictionary<string, string?>()) { Error = "not a JSON object; each line must be {\"field\": value, …}" };
        var fields = new Dictionary<string, string?>(StringComparer.Ordinal);
        try
        {
            foreach (var (key, value) in obj)
            {
                fields[key] = value switch
                {
                    null => null,
                    JsonValue v when v.GetValueKind() == JsonValueKind.String => v.GetValue<string>(),
                    _ => value.ToJsonString(),
                };
            }
        }
        catch (ArgumentException e) // JsonObject builds its dictionary lazily: a repeated key surfaces here
        {
            return new DataRow(file, line, new Dictionary<string, string?>()) { Error = $"a field appears twice ({e.Message.Split(" (")[0]})" };
        }
        catch (InvalidOperationException e) // an unpaired surrogate escape such as \ud800 cannot become a .NET string
        {
            return new DataRow(file, line, new Dictionary<string, string?>()) { Error = $"a string is not valid text ({e.Message})" };
        }
        return new DataRow(file, line, fields);
    }

    public static IEnumerable<DataRow> ReadParquet(string path)
    {
        var name = Path.GetFileName(path);
        using var stream = File.OpenRead(path);
        var table = Damaged(path, stream.Length, cancel => ParquetSerializer.DeserializeUntypedAsync(stream, cancellationToken: cancel));
        var row = 0;
        foreach (var record in table.Data)
        {
            row++;
            var fields = new Dictionary<string, string?>(StringComparer.Ordinal);
            foreach (var (key, value) in record)
                fields[key] = value switch
                {
                    null => null,
                    string s => s,
                    IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
                    _ => value.ToString(),
                };
            yield return new DataRow(name, row, fields);
        }
    }

    /// <summary>
    /// Parquet.Net reports damage with many exception types (Thrift, IO, index, overflow): one documented type here, naming
    /// the file. Some damaged footers send it into an endless loop (found by fuzzing), so the read also has a deadline:
    /// 10 s plus 1 s per MB, far above a healthy read of a dataset export. The looping thread ignores cancellation and
    /// keeps a core busy until the process exits (measured: ~0.7 core); the commands exit on this error, so only a
    /// long-lived host that keeps going after it pays that.
    /// </summary>
    internal static T Damaged<T>(string path, long bytes, Func<CancellationToken, Task<T>> read)
    {
        var limit = TimeSpan.FromSeconds(10 + bytes / 1_000_000.0);
        using var cancel = new CancellationTokenSource(limit);
        var task = Task.Run(() => read(cancel.Token));
        try
        {
            if (!task.Wait(limit + TimeSpan.FromSeconds(1)))
                throw new TimeoutException($"the Parquet reader did not finish within {limit.TotalSeconds:F0} s (damaged metadata sends it into a loop)");
            return task.Result;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            var cause = e is AggregateException { InnerException: { } inner } ? inner : e;
            throw new InvalidDataException($"{path}: not a readable Parquet file ({cause.GetType().Name}: {cause.Message.Split('\n')[0]}). The file is damaged or truncated; download or export it again.", cause);
        }
    }
}
