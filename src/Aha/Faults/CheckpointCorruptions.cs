using System.Text;
using System.Text.Json.Nodes;
using Aha.Checkpoints;
using Aha.Model;
using static TorchSharp.torch;

namespace Aha.Faults;

/// <summary>One way to damage a checkpoint: the file it touches, and whether only the manifest's hash can tell.</summary>
/// <param name="Corrupt">Damages the checkpoint folder it is given (the one <c>latest</c> names; its run folder is the parent).</param>
/// <param name="PointerOnly">Damages <c>latest</c>, not a file: the folder itself is sound and is still found.</param>
public sealed record CorruptionCase(string Name, string File, Action<string> Corrupt, bool NeedsManifest = false, bool PointerOnly = false);

/// <summary>How one case went in one setting.</summary>
public sealed record CorruptionOutcome(string Case, string Setting, bool Passed, string Detail);

/// <summary>
/// The corrupt-file table: every way a checkpoint's files can be damaged that we defend against, and a runner that
/// applies each to a copy of a real run folder and checks that resuming falls back (with a warning naming the file) to
/// the newest checkpoint that validates, or stops with one line naming the file, and never crashes or loads bad data.
/// Full checkpoints (<see cref="Cases"/>) and a LoRA run's adapter checkpoints (<see cref="AdapterCases"/>) alike.
/// </summary>
public static class CheckpointCorruptions
{
    const string Model = Checkpoint.ModelFile, Optimizer = Checkpoint.OptimizerFile, State = Checkpoint.StateFile, Config = Checkpoint.ConfigFile;

    /// <summary>The named cases plus <paramref name="randomFlips"/> seeded single-bit flips per file.</summary>
    public static IReadOnlyList<CorruptionCase> Cases(int randomFlips = 3, int seed = 1)
    {
        var cases = new List<CorruptionCase>
        {
            new("weights truncated to 0 bytes", Model, d => Truncate(d, Model, _ => 0)),
            new("weights truncated inside the header length", Model, d => Truncate(d, Model, _ => 5)),
            new("weights truncated inside the JSON header", Model, d => Truncate(d, Model, _ => 40)),
            new("weights truncated inside the data", Model, d => Truncate(d, Model, n => n / 2)),
            new("weights missing their last byte", Model, d => Truncate(d, Model, n => n - 1)),
            new("weights with 3 bytes appended", Model, d => Append(d, Model, [1, 2, 3])),
            new("weights header length huge", Model, d => Poke(d, Model, 6, 0x40)),
            new("weights header length off by 8", Model, d => AddToHeaderLength(d, Model, 8)),
            new("weights header not JSON", Model, d => Poke(d, Model, 8, (byte)'x')),
            new("weights header invalid UTF-8", Model, d => Poke(d, Model, 12, 0xFF)),
            new("weights data_offsets edited", Model, d => EditHeader(d, Model, "\"data_offsets\":[0,", "\"data_offsets\":[4,")),
            new("weights dtype name edited (F32 to I32)", Model, d => EditHeader(d, Model, "\"F32\"", "\"I32\"")),
            new("weights saved as F16 while config says float32", Model, d => Resave(d, Model, t => t.to(ScalarType.Float16))),
            new("weights of another shape than config.json", Model, d => Resave(d, Model, t => t.dim() == 2 ? t.narrow(0, 0, t.shape[0] - 1) : t)),
            new("weights missing a tensor", Model, d => Resave(d, Model, t => t, dropLast: true)),
            new("weights data bit flipped", Model, d => FlipInData(d, Model), NeedsManifest: true),
            new("weights missing", Model, d => System.IO.File.Delete(Path.Combine(d, Model))),
            new("config.json with a string where a number goes", Config, d => EditJson(d, Config, o => o["hidden_size"] = "32")),
            new("config.json with a fraction where an integer goes", Config, d => EditJson(d, Config, o => o["num_hidden_layers"] = 1.5)),
            new("config.json with an object where a string goes", Config, d => EditJson(d, Config, o => o["hidden_act"] = new JsonObject())),
            new("config.json missing hidden_size", Config, d => EditJson(d, Config, o => o.Remove("hidden_size"))),
            new("config.json with one layer fewer", Config, d => EditJson(d, Config, o => o["num_hidden_layers"] = o["num_hidden_layers"]!.GetValue<int>() - 1)),
            new("config.json with an unknown torch_dtype", Config, d => EditJson(d, Config, o => o["torch_dtype"] = "float8")),
            new("config.json half-written", Config, d => Truncate(d, Config, n => n / 2)),
            new("config.json empty", Config, d => Truncate(d, Config, _ => 0)),
            new("config.json missing", Config, d => System.IO.File.Delete(Path.Combine(d, Config))),
            new("trainer_state.json half-written", State, d => Truncate(d, State, n => n / 2)),
            new("trainer_state.json empty", State, d => Truncate(d, State, _ => 0)),
            new("trainer_state.json step is a string", State, d => EditJson(d, State, o => o["step"] = "two")),
            new("trainer_state.json step of another folder", State, d => EditJson(d, State, o => o["step"] = 999)),
            new("optimizer truncated", Optimizer, d => Truncate(d, Optimizer, n => n - 100)),
            new("optimizer of another model", Optimizer, d => Resave(d, Optimizer, t => t.dim() == 2 ? t.narrow(0, 0, t.shape[0] - 1) : t)),
            new("optimizer missing a moment", Optimizer, d => Resave(d, Optimizer, t => t, dropLast: true)),
            new("optimizer data bit flipped", Optimizer, d => FlipInData(d, Optimizer), NeedsManifest: true),
            new("generation_config.json not JSON", Checkpoint.GenerationConfigFile, d => WriteText(d, Checkpoint.GenerationConfigFile, "{\"bos_token_id\": ")),
            new("tokenizer.json truncated", "tokenizer.json", d => Truncate(d, "tokenizer.json", n => n / 3)),
            new("tokenizer.json with a special token renamed", "tokenizer.json", d => EditText(d, "tokenizer.json", "\"<|", "\"<!"), NeedsManifest: true),
            new("manifest.json not JSON", CheckpointManifest.FileName, d => Truncate(d, CheckpointManifest.FileName, n => n / 2), NeedsManifest: true),
            new("manifest.json hash edited", CheckpointManifest.FileName, d => EditText(d, CheckpointManifest.FileName, "\"sha256\": \"", "\"sha256\": \"0"), NeedsManifest: true),
        };
        cases.AddRange(PointerCases());
        cases.AddRange(RandomFlips([Model, Optimizer, State, Config, Checkpoint.GenerationConfigFile, "tokenizer.json", CheckpointManifest.FileName], randomFlips, seed));
        return cases;
    }

    /// <summary>
    /// The table for a LoRA run's adapter checkpoints (PEFT's adapter_config.json and adapter_model.safetensors, the
    /// adapters' optimizer moments, trainer_state.json), plus the pointer cases and <paramref name="randomFlips"/> seeded
    /// bit flips per file.
    /// </summary>
    public static IReadOnlyList<CorruptionCase> AdapterCases(int randomFlips = 3, int seed = 1)
    {
        const string Weights = AdapterCheckpoint.WeightsFile, AdapterConfig = AdapterCheckpoint.ConfigFile;
        var cases = new List<CorruptionCase>
        {
            new("adapter weights truncated to 0 bytes", Weights, d => Truncate(d, Weights, _ => 0)),
            new("adapter weights truncated inside the JSON header", Weights, d => Truncate(d, Weights, _ => 40)),
            new("adapter weights truncated inside the data", Weights, d => Truncate(d, Weights, n => n / 2)),
            new("adapter weights missing their last byte", Weights, d => Truncate(d, Weights, n => n - 1)),
            new("adapter weights header not JSON", Weights, d => Poke(d, Weights, 8, (byte)'x')),
            new("adapter weights of another rank", Weights, d => Resave(d, Weights, t => t.narrow(0, 0, t.shape[0] - 1))),
            new("adapter weights missing a matrix", Weights, d => Resave(d, Weights, t => t, dropLast: true)),
            new("adapter weights data bit flipped", Weights, d => FlipInData(d, Weights), NeedsManifest: true),
            new("adapter weights missing", Weights, d => System.IO.File.Delete(Path.Combine(d, Weights))),
            new("adapter_config.json half-written", AdapterConfig, d => Truncate(d, AdapterConfig, n => n / 2)),
            new("adapter_config.json with another r", AdapterConfig, d => EditJson(d, AdapterConfig, o => o["r"] = o["r"]!.GetValue<int>() + 1)),
            new("adapter_config.json with a PEFT type Aha does not run", AdapterConfig, d => EditJson(d, AdapterConfig, o => o["peft_type"] = "IA3")),
            new("adapter_config.json without a target its weights adapt", AdapterConfig, d => EditJson(d, AdapterConfig, o => o["target_modules"]!.AsArray().RemoveAt(0))),
            new("adapter_config.json with r a string", AdapterConfig, d => EditJson(d, AdapterConfig, o => o["r"] = "four")),
            new("trainer_state.json half-written", State, d => Truncate(d, State, n => n / 2)),
            new("trainer_state.json step of another folder", State, d => EditJson(d, State, o => o["step"] = 999)),
            new("optimizer truncated", Optimizer, d => Truncate(d, Optimizer, n => n - 100)),
            new("optimizer missing", Optimizer, d => System.IO.File.Delete(Path.Combine(d, Optimizer))),
            new("optimizer data bit flipped", Optimizer, d => FlipInData(d, Optimizer), NeedsManifest: true),
            new("tokenizer.json truncated", "tokenizer.json", d => Truncate(d, "tokenizer.json", n => n / 3), NeedsManifest: true), // resumes use the base's tokenizer
            new("manifest.json hash edited", CheckpointManifest.FileName, d => EditText(d, CheckpointManifest.FileName, "\"sha256\": \"", "\"sha256\": \"0"), NeedsManifest: true),
        };
        cases.AddRange(PointerCases());
        cases.AddRange(RandomFlips([Weights, AdapterConfig, Optimizer, State, CheckpointManifest.FileName], randomFlips, seed));
        return cases;
    }

    /// <summary>Damage to the <c>latest</c> pointer: the folders are sound, and the resume still finds the newest.</summary>
    static IEnumerable<CorruptionCase> PointerCases() =>
    [
        new("latest names a missing folder", Checkpoint.LatestFile, d => Pointer(d, "step-424242\n"), PointerOnly: true),
        new("latest holds garbage bytes", Checkpoint.LatestFile, d => PointerBytes(d, [0xFF, 0x00, 0x1B, 0x41, 0x0A]), PointerOnly: true),
        new("latest is empty", Checkpoint.LatestFile, d => Pointer(d, ""), PointerOnly: true),
        new("latest points outside the run", Checkpoint.LatestFile, d => Pointer(d, "../../etc\n"), PointerOnly: true),
        new("latest names a temporary folder", Checkpoint.LatestFile, d => Pointer(d, ".tmp-step-000002-1\n"), PointerOnly: true),
        new("latest is missing", Checkpoint.LatestFile, d => System.IO.File.Delete(Path.Combine(Path.GetDirectoryName(d)!, Checkpoint.LatestFile)), PointerOnly: true),
    ];

    static IEnumerable<CorruptionCase> RandomFlips(string[] files, int flips, int seed)
    {
        var random = new Random(seed);
        foreach (string file in files)
            for (int i = 0; i < flips; i++)
            {
                double where = random.NextDouble();
                int bit = random.Next(8);
                yield return new($"{file} bit {bit} flipped at {where:P0}", file, d => FlipAt(d, file, where, bit), NeedsManifest: true);
            }
    }

    /// <summary>
    /// Applies every case to a copy of <paramref name="pristineRun"/> (a run folder with at least two step checkpoints,
    /// <c>latest</c> naming the newest) in three settings: an older sound checkpoint to fall back to; the damaged one
    /// alone; and, for cases a structural check can see, without manifests (checkpoints from older versions).
    /// </summary>
    public static IReadOnlyList<CorruptionOutcome> Run(string pristineRun, string scratch, IReadOnlyList<CorruptionCase> cases)
    {
        var outcomes = new List<CorruptionOutcome>();
        foreach (var c in cases)
            foreach (string setting in new[] { "fallback", "alone", "no manifest" })
            {
                if (setting == "no manifest" && c.NeedsManifest) continue;
                string run = Path.Combine(scratch, $"case-{outcomes.Count}");
                Copy(pristineRun, run);
                try { outcomes.Add(Check(c, setting, run)); }
                catch (Exception e) { outcomes.Add(new(c.Name, setting, false, $"crashed: {e.GetType().Name}: {e.Message}")); }
                finally { Directory.Delete(run, recursive: true); }
            }
        return outcomes;
    }

    static CorruptionOutcome Check(CorruptionCase c, string setting, string run)
    {
        var steps = Directory.GetDirectories(run, "step-*").Order(StringComparer.Ordinal).ToList();
        string newest = steps[^1];
        if (setting != "fallback") foreach (string older in steps[..^1]) Directory.Delete(older, recursive: true);
        if (setting == "no manifest") foreach (string folder in Directory.GetDirectories(run, "step-*")) System.IO.File.Delete(Path.Combine(folder, CheckpointManifest.FileName));
        bool adapters = AdapterCheckpoint.IsAdapter(newest);
        c.Corrupt(newest);

        var warnings = new List<string>();
        string? chosen;
        try { chosen = adapters ? LoadNewestAdapter(run, warnings.Add) : LoadNewest(run, warnings.Add); }
        catch (InvalidDataException e)
        {
            bool oneLine = !e.Message.Contains('\n');
            bool named = e.Message.Contains(c.File, StringComparison.Ordinal);
            bool expected = setting != "fallback" && !c.PointerOnly;
            return new(c.Name, setting, oneLine && named && expected, $"error: {e.Message}");
        }
        string shown = warnings.Count == 0 ? "no warning" : $"warning: {string.Join(" | ", warnings)}";
        if (chosen is null) return new(c.Name, setting, false, $"no checkpoint found; {shown}");

        string expectedFolder = c.PointerOnly || setting != "fallback" ? newest : steps[^2];
        bool warned = warnings.Any(w => w.Contains(c.File, StringComparison.Ordinal));
        if (!c.PointerOnly && setting != "fallback")
            return new(c.Name, setting, false, $"loaded the damaged {Path.GetFileName(chosen)} without an error; {shown}");
        bool passed = Path.GetFullPath(chosen) == Path.GetFullPath(expectedFolder) && warned;
        return new(c.Name, setting, passed, $"resumed from {Path.GetFileName(chosen)}; {shown}");
    }

    /// <summary>The folder a full run resumes from, after loading it completely: weights into a model of its shape, optimizer moments.</summary>
    static string? LoadNewest(string run, Action<string> warn)
    {
        var chosen = Checkpoint.TryLoadNewestValid(run, warn);
        if (chosen is null) return null;
        using (var model = new LlamaModel(chosen.Config)) chosen.LoadModel(model);
        foreach (var t in chosen.LoadOptimizer().Values) t.Dispose();
        return chosen.Directory;
    }

    /// <summary>The folder a LoRA run resumes from, after reading its adapter matrices and optimizer moments completely.</summary>
    static string? LoadNewestAdapter(string run, Action<string> warn)
    {
        var chosen = AdapterCheckpoint.TryLoadNewestValid(run, warn);
        if (chosen is null) return null;
        using var scope = NewDisposeScope();
        SafeTensors.Load(Path.Combine(chosen.Directory, AdapterCheckpoint.WeightsFile));
        chosen.LoadOptimizer();
        return chosen.Directory;
    }

    static void Copy(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (string file in Directory.EnumerateFiles(from)) System.IO.File.Copy(file, Path.Combine(to, Path.GetFileName(file)));
        foreach (string dir in Directory.EnumerateDirectories(from)) Copy(dir, Path.Combine(to, Path.GetFileName(dir)));
    }

    static string P(string dir, string file) => Path.Combine(dir, file);

    static void Truncate(string dir, string file, Func<long, long> length)
    {
        using var stream = new FileStream(P(dir, file), FileMode.Open);
        stream.SetLength(Math.Max(0, length(stream.Length)));
    }

    static void Append(string dir, string file, byte[] bytes)
    {
        using var stream = new FileStream(P(dir, file), FileMode.Append);
        stream.Write(bytes);
    }

    static void Poke(string dir, string file, long offset, byte value)
    {
        using var stream = new FileStream(P(dir, file), FileMode.Open);
        stream.Position = offset;
        stream.WriteByte(value);
    }

    static void FlipAt(string dir, string file, double where, int bit)
    {
        using var stream = new FileStream(P(dir, file), FileMode.Open);
        stream.Position = Math.Min(stream.Length - 1, (long)(where * stream.Length));
        int b = stream.ReadByte();
        stream.Position--;
        stream.WriteByte((byte)(b ^ (1 << bit)));
    }

    static long HeaderLength(string path)
    {
        using var stream = System.IO.File.OpenRead(path);
        var prefix = new byte[8];
        stream.ReadExactly(prefix);
        return BitConverter.ToInt64(prefix);
    }

    static void AddToHeaderLength(string dir, string file, long delta)
    {
        long n = HeaderLength(P(dir, file)) + delta;
        using var stream = new FileStream(P(dir, file), FileMode.Open);
        stream.Write(BitConverter.GetBytes(n));
    }

    static void FlipInData(string dir, string file)
    {
        long start = 8 + HeaderLength(P(dir, file)), length = new FileInfo(P(dir, file)).Length;
        FlipAt(dir, file, (start + (length - start) / 3) / (double)length, 3);
    }

    /// <summary>Replaces the first occurrence in the header, padding or trimming spaces so the header keeps its length.</summary>
    static void EditHeader(string dir, string file, string find, string replace)
    {
        byte[] bytes = System.IO.File.ReadAllBytes(P(dir, file));
        int n = (int)HeaderLength(P(dir, file));
        string header = Encoding.UTF8.GetString(bytes, 8, n);
        int at = header.IndexOf(find, StringComparison.Ordinal);
        if (at < 0) throw new InvalidOperationException($"{file}: '{find}' not in the header; the corruption table is out of date.");
        string edited = (header[..at] + replace + header[(at + find.Length)..]).TrimEnd();
        edited = edited.PadRight(n);
        Encoding.UTF8.GetBytes(edited, bytes.AsSpan(8, n));
        System.IO.File.WriteAllBytes(P(dir, file), bytes);
    }

    /// <summary>A well-formed safetensors file whose tensors were transformed: damage only a check against the model can see.</summary>
    static void Resave(string dir, string file, Func<Tensor, Tensor> change, bool dropLast = false)
    {
        using var scope = NewDisposeScope();
        var tensors = SafeTensors.Load(P(dir, file));
        var names = tensors.Keys.Order(StringComparer.Ordinal).ToList();
        if (dropLast) names.RemoveAt(names.Count - 1);
        var changed = names.ToDictionary(n => n, n => change(tensors[n]).contiguous());
        SafeTensors.Save(P(dir, file), changed);
    }

    static void EditJson(string dir, string file, Action<JsonObject> edit)
    {
        var node = JsonNode.Parse(System.IO.File.ReadAllText(P(dir, file)))!.AsObject();
        edit(node);
        System.IO.File.WriteAllText(P(dir, file), node.ToJsonString());
    }

    static void EditText(string dir, string file, string find, string replace)
    {
        string text = System.IO.File.ReadAllText(P(dir, file));
        if (!text.Contains(find, StringComparison.Ordinal)) throw new InvalidOperationException($"{file}: '{find}' not found; the corruption table is out of date.");
        System.IO.File.WriteAllText(P(dir, file), text.Replace(find, replace, StringComparison.Ordinal));
    }

    static void WriteText(string dir, string file, string text) => System.IO.File.WriteAllText(P(dir, file), text);

    static void Pointer(string checkpoint, string text) => System.IO.File.WriteAllText(P(Path.GetDirectoryName(checkpoint)!, Checkpoint.LatestFile), text);

    static void PointerBytes(string checkpoint, byte[] bytes) => System.IO.File.WriteAllBytes(P(Path.GetDirectoryName(checkpoint)!, Checkpoint.LatestFile), bytes);
}
