using System.Globalization;
using System.Text.Json;
using TorchSharp;

namespace Aha.Training;

/// <summary>
/// Appends one JSON object per step to <c>metrics.jsonl</c> and, on request, the same scalars to TensorBoard event files.
/// </summary>
public sealed class MetricsLog : IDisposable
{
    readonly StreamWriter _jsonl;
    readonly TorchSharp.Modules.SummaryWriter? _tensorboard;

    public string Path { get; }

    /// <param name="dir">The run folder; metrics.jsonl is appended to so a resumed run continues the same file.</param>
    /// <param name="tensorboard">Also write TensorBoard event files to <c>dir/tensorboard</c>.</param>
    public MetricsLog(string dir, bool tensorboard)
    {
        Directory.CreateDirectory(dir);
        Path = System.IO.Path.Combine(dir, "metrics.jsonl");
        _jsonl = new StreamWriter(new FileStream(Path, FileMode.Append, FileAccess.Write, FileShare.Read)) { AutoFlush = true };
        if (tensorboard) _tensorboard = torch.utils.tensorboard.SummaryWriter(System.IO.Path.Combine(dir, "tensorboard"));
    }

    /// <summary>Writes the step's scalars; non-finite values are written as null in JSON (JSON has no NaN).</summary>
    public void Write(string phase, long step, IReadOnlyDictionary<string, double> scalars)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("phase", phase);
            json.WriteNumber("step", step);
            json.WriteString("time", DateTimeOffset.UtcNow.ToString("O", CultureInfo.InvariantCulture));
            foreach (var (name, value) in scalars)
            {
                if (double.IsFinite(value)) json.WriteNumber(name, Math.Round(value, 7));
                else json.WriteNull(name);
                _tensorboard?.add_scalar($"{phase}/{name}", (float)value, (int)step);
            }
            json.WriteEndObject();
        }
        _jsonl.WriteLine(System.Text.Encoding.UTF8.GetString(buffer.ToArray()));
    }

    public void Dispose()
    {
        _jsonl.Dispose();
    }
}
