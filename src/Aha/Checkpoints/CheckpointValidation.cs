using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Aha.Model;
using static TorchSharp.torch;

namespace Aha.Checkpoints;

// Validation of whole checkpoint folders and the resume rule built on it: take the newest checkpoint that validates.
public sealed partial class Checkpoint
{
    /// <summary>
    /// Checks a checkpoint folder before trusting it: the manifest (sizes and SHA-256), config.json, the tokenizer,
    /// generation_config.json, trainer_state.json, and the safetensors headers of the weights (every dtype and shape
    /// against config.json) and of the optimizer (every moment against a parameter). Returns null when it is sound, else
    /// one line naming the file and what is wrong. <paramref name="warn"/> hears about a folder without a manifest.
    /// </summary>
    /// <remarks>A LoRA run's adapter checkpoint (adapter_config.json, no config.json) is checked as one: <see cref="AdapterCheckpoint.Check"/>.</remarks>
    public static string? Validate(string directory, Action<string>? warn = null) =>
        AdapterCheckpoint.IsAdapter(directory) && !File.Exists(Path.Combine(directory, ConfigFile)) ? AdapterCheckpoint.Check(directory, warn).Problem : Check(directory, warn).Problem;

    /// <summary><see cref="Validate"/>, keeping the checkpoint it opened to check (a tokenizer can take seconds to load).</summary>
    static (string? Problem, Checkpoint? Checkpoint) Check(string directory, Action<string>? warn)
    {
        if (!System.IO.Directory.Exists(directory)) return ($"{directory}: no such checkpoint folder", null);
        try
        {
            if (CheckpointManifest.Verify(directory, out bool hasManifest) is { } damaged) return (damaged, null);
            if (!hasManifest)
                warn?.Invoke($"{directory} has no {CheckpointManifest.FileName} (saved by an older version of Aha): its files are checked for structure only, not by hash.");
            var checkpoint = Open(directory);
            string generation = Path.Combine(directory, GenerationConfigFile);
            if (File.Exists(generation)) GenerationConfig.FromJson(File.ReadAllText(generation), generation);
            if (StepFolder().Match(Path.GetFileName(Path.TrimEndingDirectorySeparator(directory))) is { Success: true } m && checkpoint.State is { } state
                && long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) != state.Step)
                return ($"{Path.Combine(directory, StateFile)} says step {state.Step}, but the folder is {Path.GetFileName(directory)}", null);
            return CheckTensors(checkpoint) is { } problem ? (problem, null) : (null, checkpoint);
        }
        catch (Exception e) when (e is InvalidDataException or IOException or UnauthorizedAccessException or JsonException
                                      or InvalidOperationException or FormatException or ArgumentException or KeyNotFoundException or NotSupportedException)
        {
            return (OneLine(e.Message), null);
        }
    }

    /// <summary>Opens <paramref name="directory"/> after <see cref="Validate"/>; a damaged folder throws <see cref="InvalidDataException"/> naming the file.</summary>
    public static Checkpoint OpenVerified(string directory, Action<string>? warn = null)
    {
        var (problem, checkpoint) = Check(directory, warn);
        return checkpoint ?? throw new InvalidDataException($"{problem}. Use another checkpoint of the run, or restore this one from a copy.");
    }

    /// <summary>
    /// The checkpoint a resume starts from: the one <c>latest</c> names if it validates, else the newest older
    /// <c>step-*</c> folder that does, with a warning for each one skipped and why. A <c>latest</c> that is garbage or
    /// names a missing folder falls back the same way. Null for a fresh run (no <c>latest</c>, no step folders); when no
    /// checkpoint validates, throws one line naming the newest one's damaged file.
    /// </summary>
    public static Checkpoint? TryLoadNewestValid(string runDir, Action<string> warn) => NewestValid(runDir, warn, folder => Check(folder, warn));

    /// <summary>
    /// The resume rule of <see cref="TryLoadNewestValid"/> for any checkpoint kind: <paramref name="check"/> opens a
    /// candidate folder or says what is wrong with it.
    /// </summary>
    internal static T? NewestValid<T>(string runDir, Action<string> warn, Func<string, (string? Problem, T? Value)> check) where T : class
    {
        if (!System.IO.Directory.Exists(runDir)) return null;
        string pointer = Path.Combine(runDir, LatestFile);
        var candidates = new List<string>();
        long newest = long.MaxValue;
        string? named = File.Exists(pointer) ? File.ReadAllText(pointer).Trim() : null;
        if (named is not null)
        {
            if (named.Length == 0 || named.Length > 255 || named.StartsWith('.') || named.IndexOfAny(['/', '\\', '\0']) >= 0 || named.Any(char.IsControl))
                warn($"{pointer} holds '{Printable(named)}', not a checkpoint folder name; looking for the newest checkpoint that validates.");
            else if (!System.IO.Directory.Exists(Path.Combine(runDir, named)))
                warn($"{pointer} names '{named}', but that folder does not exist; looking for the newest checkpoint that validates.");
            else
            {
                candidates.Add(named);
                if (StepFolder().Match(named) is { Success: true } m) newest = long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
            }
        }
        // Step folders newer than the one 'latest' names are orphans of a save killed before the pointer moved: not candidates.
        candidates.AddRange(StepFolders(runDir).Where(s => s.Step <= newest && s.Name != named).Select(s => s.Name));
        if (named is null && candidates.Count == 0) return null;
        if (named is null) warn($"{pointer} is missing, but {runDir} holds step folders; looking for the newest checkpoint that validates.");

        string? first = null;
        foreach (string name in candidates)
        {
            string folder = Path.Combine(runDir, name);
            var (problem, checkpoint) = check(folder);
            if (checkpoint is not null)
            {
                if (first is not null) warn($"resuming from {folder}, the newest checkpoint that validates.");
                return checkpoint;
            }
            warn($"skipping {folder}: {problem}.");
            first ??= problem;
        }
        throw new InvalidDataException(first is null
            ? $"cannot resume {runDir}: {pointer} names no existing checkpoint and there is no step-* folder. Start again with --overwrite."
            : $"cannot resume {runDir}: no checkpoint validates; the newest: {first}. Restore the run folder from a copy, or start again with --overwrite.");
    }

    /// <summary>The step of a <c>step-N</c> folder, or null for any other name.</summary>
    internal static long? StepOf(string directory) =>
        StepFolder().Match(Path.GetFileName(Path.TrimEndingDirectorySeparator(directory))) is { Success: true } m ? long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) : null;

    static IEnumerable<(string Name, long Step)> StepFolders(string runDir) =>
        System.IO.Directory.EnumerateDirectories(runDir)
            .Select(d => Path.GetFileName(d))
            .Select(n => (Name: n, Match: StepFolder().Match(n)))
            .Where(x => x.Match.Success)
            .Select(x => (x.Name, Step: long.Parse(x.Match.Groups[1].Value, CultureInfo.InvariantCulture)))
            .OrderByDescending(x => x.Step);

    /// <summary>
    /// Weights (one file or shards): dtype as config.json's torch_dtype, names and shapes as a model built from it. Optimizer:
    /// a moment of each parameter's shape, and any float32 master (<see cref="MasterWeights"/>) of a weight's shape.
    /// </summary>
    static string? CheckTensors(Checkpoint checkpoint)
    {
        string configPath = Path.Combine(checkpoint.Directory, ConfigFile);
        // One model.safetensors or the shards of model.safetensors.index.json (as the Hub ships them), each checked.
        var headers = WeightFiles.Headers(checkpoint.Directory);
        string dtype = TorchDtype(configPath);
        foreach (var shard in headers)
            if (shard.Tensors.FirstOrDefault(t => t.Dtype != dtype) is { } odd)
                return $"{shard.Path}: tensor '{odd.Name}' is {odd.Dtype}, but {ConfigFile} says torch_dtype {DtypeWord(dtype)} ({dtype})";
        var header = WeightFiles.Combined(checkpoint.Directory, headers);

        // Building the model draws random initial weights: keep the global generator as it was for the caller.
        using var rng = get_rng_state();
        try
        {
            using var model = new LlamaModel(checkpoint.Config);
            var weights = model.state_dict();
            try { StateDictCheck.ThrowIfMismatched(header, weights, WithoutAliases(weights).Keys.ToHashSet(), checkpoint.Config); }
            catch (InvalidDataException e) { return OneLine(e.Message); }

            string optimizerPath = Path.Combine(checkpoint.Directory, OptimizerFile);
            if (!File.Exists(optimizerPath)) return null;
            var moments = SafeTensors.ReadHeader(optimizerPath).Tensors.ToDictionary(t => t.Name);
            foreach (var (name, parameter) in model.named_parameters())
                foreach (string key in new[] { $"{name}.exp_avg", $"{name}.exp_avg_sq", $"{name}.step" })
                {
                    if (!moments.TryGetValue(key, out var info)) return $"{optimizerPath}: '{key}' is missing, so it does not belong to this model";
                    long[] expected = key.EndsWith(".step", StringComparison.Ordinal) ? [] : parameter.shape;
                    if (!info.Shape.SequenceEqual(expected))
                        return $"{optimizerPath}: '{key}' has shape {info.ShapeText}, but the parameter is [{string.Join(", ", expected)}]";
                }
            // Float32 masters of weights stored narrower (MasterWeights): each must match a weight's shape.
            foreach (var (key, info) in moments.Where(m => m.Key.StartsWith(MasterWeights.Prefix, StringComparison.Ordinal)))
                if (!weights.TryGetValue(key[MasterWeights.Prefix.Length..], out var weight) || !info.Shape.SequenceEqual(weight.shape))
                    return $"{optimizerPath}: '{key}' ({info.ShapeText}) is the master of no weight of that name and shape in this model";
            return null;
        }
        finally { set_rng_state(rng); }
    }

    /// <summary>The safetensors dtype config.json promises (Aha writes float32; a Hugging Face file may say bfloat16).</summary>
    static string TorchDtype(string configPath)
    {
        var root = JsonNode.Parse(File.ReadAllText(configPath));
        var node = root?["torch_dtype"] ?? root?["dtype"]; // transformers 4.56+ writes dtype
        string word = node is JsonValue v && v.TryGetValue(out string? s) ? s : "float32";
        return word switch
        {
            "float32" => "F32", "bfloat16" => "BF16", "float16" => "F16", "float64" => "F64",
            _ => throw new InvalidDataException($"{configPath}: torch_dtype '{word}' is not one of float32, bfloat16, float16, float64"),
        };
    }

    static string DtypeWord(string dtype) => dtype switch { "BF16" => "bfloat16", "F16" => "float16", "F64" => "float64", _ => "float32" };

    /// <summary>A save that failed on I/O (a full disk, a read-only folder): what happened and that the previous checkpoint is untouched.</summary>
    static IOException SaveFailed(IOException e, string runDir, string name)
    {
        string? latest = null;
        try { latest = ReadLatestName(runDir); } catch (IOException) { }
        return new IOException($"saving checkpoint {name} in {runDir} failed: {OneLine(e.Message)}. " +
            (latest is null ? "No earlier checkpoint exists. " : $"The previous checkpoint ({latest}) is intact and still 'latest'. ") +
            "Free disk space (or fix the folder's permissions) and rerun with --resume.", e);
    }

    internal static string OneLine(string message) => string.Join(" ", message.Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)).TrimEnd('.');

    static string Printable(string text)
    {
        string shown = new(text.Take(40).Select(c => char.IsControl(c) || char.IsSurrogate(c) || c == '\uFFFD' ? '?' : c).ToArray());
        return text.Length > 40 ? shown + "…" : shown;
    }
}
