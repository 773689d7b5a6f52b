using System.Text.RegularExpressions;
using Aha.Model;
using Aha.Tokenizer;
using TorchSharp;
using static TorchSharp.torch;

namespace Aha.Checkpoints;

/// <summary>
/// A checkpoint folder a Hugging Face user recognises (config.json, model.safetensors, tokenizer files,
/// generation_config.json) plus, for exact resume, trainer_state.json and optimizer.safetensors.
/// </summary>
/// <remarks>
/// A save writes everything into <c>RUN/.tmp-NAME-PID</c>, flushes it to disk and renames it to <c>RUN/NAME</c>;
/// only then is the <c>latest</c> pointer replaced (write-temp-then-rename). A crash or full disk at any moment
/// leaves the previous checkpoint and pointer intact; leftover <c>.tmp-*</c> folders are ignored and removed by the next save.
/// </remarks>
public sealed partial class Checkpoint
{
    /// <summary>The pointer file in a run folder naming its newest complete checkpoint.</summary>
    public const string LatestFile = "latest";
    /// <summary>Weights file.</summary>
    public const string ModelFile = "model.safetensors";
    /// <summary>Optimizer moments file.</summary>
    public const string OptimizerFile = "optimizer.safetensors";
    /// <summary>Resume state file.</summary>
    public const string StateFile = "trainer_state.json";
    /// <summary>Model shape file.</summary>
    public const string ConfigFile = "config.json";
    /// <summary>Sampling defaults file.</summary>
    public const string GenerationConfigFile = "generation_config.json";
    const string TmpPrefix = ".tmp-";

    Checkpoint(string directory, ModelConfig config, ITokenizer tokenizer, TrainingState? state)
    {
        Directory = directory;
        Config = config;
        Tokenizer = tokenizer;
        State = state;
    }

    /// <summary>The checkpoint folder.</summary>
    public string Directory { get; }
    /// <summary>The model shape from config.json.</summary>
    public ModelConfig Config { get; }
    /// <summary>The tokenizer of the folder's tokenizer.json: the one every command and trainer uses with this model.</summary>
    public ITokenizer Tokenizer { get; }
    /// <summary>Resume state, or null for a weights-only checkpoint.</summary>
    public TrainingState? State { get; }
    /// <summary>Whether optimizer.safetensors is present.</summary>
    public bool HasOptimizer => File.Exists(Path.Combine(Directory, OptimizerFile));

    /// <summary>The conventional folder name for a step: <c>step-000123</c> (sorts in step order).</summary>
    public static string StepName(long step) => $"step-{step:D6}";

    [GeneratedRegex(@"^step-(\d+)$")]
    private static partial Regex StepFolder();

    /// <summary>Saves <paramref name="model"/>'s state dict; see <see cref="Save(string, string, IReadOnlyDictionary{string, Tensor}, ModelConfig, ITokenizer, TrainingState?, IReadOnlyDictionary{string, Tensor}?, CheckpointOptions?)"/>.</summary>
    public static string Save(string runDir, string name, nn.Module model, ModelConfig config, ITokenizer tokenizer, TrainingState? state = null,
        IReadOnlyDictionary<string, Tensor>? optimizer = null, CheckpointOptions? options = null) =>
        Save(runDir, name, model.state_dict(), config, tokenizer, state, optimizer, options);

    /// <summary>
    /// Atomically writes the checkpoint folder <c>runDir/name</c> and, by default, points <c>latest</c> at it.
    /// Refuses to replace an existing folder. Weights are written in the config's torch_dtype (a BF16 model loaded for
    /// fp32 compute saves as BF16 again), as one model.safetensors; with <paramref name="optimizer"/> (a training checkpoint)
    /// the weights that rounding changes are also kept in float32 in optimizer.safetensors (<see cref="MasterWeights"/>). Tensors sharing storage (tied embeddings) are written once, under the
    /// first name in <paramref name="weights"/>' order, as Hugging Face does.
    /// </summary>
    /// <param name="tokenizer">Written as the folder's tokenizer files: the tokenizer of the model that was loaded (or of its preset).</param>
    /// <param name="optimizer">Optimizer state by name, e.g. <c>{param}.exp_avg</c>, <c>{param}.exp_avg_sq</c>; written as optimizer.safetensors.</param>
    /// <returns>The path of the new checkpoint folder.</returns>
    public static string Save(string runDir, string name, IReadOnlyDictionary<string, Tensor> weights, ModelConfig config,
        ITokenizer tokenizer, TrainingState? state = null, IReadOnlyDictionary<string, Tensor>? optimizer = null, CheckpointOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        options ??= new CheckpointOptions();
        if (tokenizer.VocabSize > config.VocabSize)
            throw new ArgumentException($"the tokenizer has {tokenizer.VocabSize} ids but the model's vocab_size is {config.VocabSize}; save the model with the tokenizer it was built for.", nameof(tokenizer));
        return WriteFolder(runDir, name, options.UpdateLatest, options.KeepLast, tmp =>
        {
            SaveFaults.BeforeWrite(Path.Combine(tmp, ConfigFile));
            File.WriteAllText(Path.Combine(tmp, ConfigFile), config.ToJson() + "\n");
            SaveFaults.BeforeWrite(Path.Combine(tmp, GenerationConfigFile));
            string? generation = options.GenerationConfigFrom is { } from ? Path.Combine(from, GenerationConfigFile) : null;
            if (generation is not null && File.Exists(generation)) File.Copy(generation, Path.Combine(tmp, GenerationConfigFile));
            else File.WriteAllText(Path.Combine(tmp, GenerationConfigFile), (options.Generation ?? GenerationConfig.For(tokenizer)).ToJson());
            SaveFaults.BeforeWrite(Path.Combine(tmp, "tokenizer.json"));
            tokenizer.Save(tmp);
            SaveFaults.BeforeWrite(Path.Combine(tmp, ModelFile));
            SafeTensors.Save(Path.Combine(tmp, ModelFile), WithoutAliases(weights), SafeTensors.PyTorchMetadata, config.StorageDtype);
            if (optimizer is not null) SaveFaults.BeforeWrite(Path.Combine(tmp, OptimizerFile));
            // Weights rounded to a narrower storage dtype keep their float32 masters here, so a resume is exact.
            if (optimizer is not null)
                SafeTensors.Save(Path.Combine(tmp, OptimizerFile), MasterWeights.With(optimizer, WithoutAliases(weights), config.StorageDtype), SafeTensors.PyTorchMetadata);
            foreach (var (file, tensors) in options.ExtraTensorFiles)
            {
                SaveFaults.BeforeWrite(Path.Combine(tmp, file));
                SafeTensors.Save(Path.Combine(tmp, file), WithoutAliases(tensors), SafeTensors.PyTorchMetadata);
            }
            if (state is not null) SaveFaults.BeforeWrite(Path.Combine(tmp, StateFile));
            if (state is not null) File.WriteAllText(Path.Combine(tmp, StateFile), state.ToJson());
        });
    }

    /// <summary>
    /// The atomic save every checkpoint kind shares: <paramref name="write"/> fills a temporary folder, the manifest is
    /// written last inside it, the folder is flushed and renamed to <c>runDir/name</c> (it appears complete or not at all),
    /// then <c>latest</c> moves to it and old step folders are pruned. Refuses to replace an existing folder; an I/O
    /// failure says the previous checkpoint is intact.
    /// </summary>
    internal static string WriteFolder(string runDir, string name, bool updateLatest, int keepLast, Action<string> write)
    {
        CheckName(name);
        System.IO.Directory.CreateDirectory(runDir);
        string final = Path.Combine(runDir, name);
        if (System.IO.Directory.Exists(final) || File.Exists(final))
            throw new IOException($"{final} already exists; refusing to overwrite a saved checkpoint. Save under another name (the next step) or delete that folder first.");
        RemoveAbandonedTemporaries(runDir);

        string tmp = Path.Combine(runDir, $"{TmpPrefix}{name}-{Environment.ProcessId}");
        if (System.IO.Directory.Exists(tmp)) System.IO.Directory.Delete(tmp, recursive: true);
        System.IO.Directory.CreateDirectory(tmp);
        try
        {
            write(tmp);
            CheckpointManifest.Write(tmp); // last, so it lists every file; inside the temporary folder, so it is renamed with them
            Durable.FlushTree(tmp);
            System.IO.Directory.Move(tmp, final); // atomic on one file system: the folder appears complete or not at all
        }
        catch (Exception e)
        {
            try { System.IO.Directory.Delete(tmp, recursive: true); }
            catch (IOException) { } // the next save removes it; the original error matters more
            if (e is IOException io) throw SaveFailed(io, runDir, name);
            throw;
        }
        Durable.FlushDirectory(runDir);
        try
        {
            if (updateLatest) SaveFaults.BeforeWrite(Path.Combine(runDir, LatestFile));
            if (updateLatest) Durable.ReplaceText(Path.Combine(runDir, LatestFile), name + "\n");
        }
        catch (IOException e) { throw SaveFailed(e, runDir, name); } // the new folder stays, unnamed by 'latest': a resume ignores it
        if (keepLast > 0) Prune(runDir, keepLast);
        return final;
    }

    static void CheckName(string name)
    {
        if (string.IsNullOrWhiteSpace(name) || name.StartsWith('.') || name == LatestFile
            || name.IndexOfAny(['/', '\\']) >= 0 || name.IndexOfAny(Path.GetInvalidFileNameChars()) >= 0)
            throw new ArgumentException($"checkpoint name '{name}' must be a plain folder name, not starting with '.', not '{LatestFile}' (e.g. {StepName(123)}).", nameof(name));
    }

    /// <summary>Drops entries whose storage another entry already holds: the file must not repeat bytes, and HF reties on load.</summary>
    static Dictionary<string, Tensor> WithoutAliases(IReadOnlyDictionary<string, Tensor> weights)
    {
        var seen = new HashSet<(nint, ScalarType, string)>();
        var result = new Dictionary<string, Tensor>();
        foreach (var (name, tensor) in weights)
            if (StorageKey(tensor) is not { } key || seen.Add(key)) result[name] = tensor;
        return result;
    }

    static unsafe (nint, ScalarType, string)? StorageKey(Tensor t)
    {
        if (t.numel() == 0 || !t.is_contiguous() || t.device_type != DeviceType.CPU) return null;
        fixed (byte* p = t.bytes) return ((nint)p, t.dtype, string.Join(",", t.shape));
    }

    /// <summary>Removes <c>.tmp-*</c> entries left by saves whose process no longer runs (a crash mid-save).</summary>
    static void RemoveAbandonedTemporaries(string runDir)
    {
        foreach (string path in System.IO.Directory.EnumerateFileSystemEntries(runDir, TmpPrefix + "*")
                     .Concat(System.IO.Directory.EnumerateFiles(runDir, LatestFile + ".tmp-*")))
        {
            string tail = path[(path.LastIndexOf('-') + 1)..];
            if (int.TryParse(tail, out int pid) && (pid == Environment.ProcessId || Durable.IsRunning(pid))) continue;
            try
            {
                if (System.IO.Directory.Exists(path)) System.IO.Directory.Delete(path, recursive: true);
                else File.Delete(path);
            }
            catch (IOException) { } // another process may be removing it too; it is ignored by loads either way
        }
    }

    static void Prune(string runDir, int keepLast)
    {
        string? latest = ReadLatestName(runDir);
        var steps = System.IO.Directory.EnumerateDirectories(runDir)
            .Select(Path.GetFileName)
            .Select(n => (Name: n!, Match: StepFolder().Match(n!)))
            .Where(x => x.Match.Success)
            .OrderByDescending(x => long.Parse(x.Match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture))
            .Skip(keepLast)
            .Where(x => x.Name != latest);
        foreach (var (name, _) in steps)
        {
            // Rename first so a half-deleted folder is never taken for a checkpoint.
            string doomed = Path.Combine(runDir, $"{TmpPrefix}delete-{name}-{Environment.ProcessId}");
            try
            {
                System.IO.Directory.Move(Path.Combine(runDir, name), doomed);
                System.IO.Directory.Delete(doomed, recursive: true);
            }
            catch (IOException) { } // pruning is housekeeping: the save itself already succeeded
        }
    }

    static string? ReadLatestName(string runDir)
    {
        string pointer = Path.Combine(runDir, LatestFile);
        return File.Exists(pointer) ? File.ReadAllText(pointer).Trim() : null;
    }

    /// <summary>
    /// Opens the checkpoint folder <paramref name="directory"/>: reads config.json, the tokenizer and trainer_state.json;
    /// a tokenizer with more ids than the model's embedding is refused.
    /// </summary>
    public static Checkpoint Open(string directory)
    {
        if (!System.IO.Directory.Exists(directory))
            throw new DirectoryNotFoundException($"{directory}: no such checkpoint folder.");
        string configPath = Path.Combine(directory, ConfigFile);
        if (!File.Exists(configPath))
            throw new FileNotFoundException($"{configPath} is missing, so {directory} is not a complete checkpoint. Use another checkpoint of the run.", configPath);
        if (!WeightFiles.Exist(directory))
            throw new FileNotFoundException($"{Path.Combine(directory, ModelFile)} (or {WeightFiles.IndexFile} with its shards) is missing, so {directory} is not a complete checkpoint. Use another checkpoint of the run.");
        var config = ModelConfig.FromJson(File.ReadAllText(configPath), configPath);
        var tokenizer = TokenizerLoader.Load(directory);
        if (tokenizer.VocabSize > config.VocabSize)
            throw new InvalidDataException(
                $"{Path.Combine(directory, "tokenizer.json")} has {tokenizer.VocabSize} ids but {configPath} says vocab_size {config.VocabSize}: " +
                "the tokenizer does not belong to this model. Copy the tokenizer files the model was trained with into the folder.");
        string statePath = Path.Combine(directory, StateFile);
        var state = File.Exists(statePath) ? TrainingState.FromJson(File.ReadAllText(statePath), statePath) : null;
        return new Checkpoint(Path.GetFullPath(directory), config, tokenizer, state);
    }

    /// <summary>Opens the checkpoint that <c>runDir/latest</c> names.</summary>
    public static Checkpoint LoadLatest(string runDir) =>
        TryLoadLatest(runDir) ?? throw new FileNotFoundException(
            $"{Path.Combine(runDir, LatestFile)} does not exist: no checkpoint of this run was completed. Start the run fresh, or open a checkpoint folder directly.");

    /// <summary>Like <see cref="LoadLatest"/>, but null when the run has no <c>latest</c> yet (a fresh run); a broken pointer still throws.</summary>
    public static Checkpoint? TryLoadLatest(string runDir)
    {
        string? name = System.IO.Directory.Exists(runDir) ? ReadLatestName(runDir) : null;
        if (name is null) return null;
        string pointer = Path.Combine(runDir, LatestFile);
        if (name.Length == 0 || name.StartsWith('.') || name.IndexOfAny(['/', '\\']) >= 0)
            throw new InvalidDataException($"{pointer} contains '{name}', which is not a checkpoint folder name. Write the name of a folder in {runDir} into it.");
        string folder = Path.Combine(runDir, name);
        if (!System.IO.Directory.Exists(folder))
            throw new DirectoryNotFoundException(
                $"{pointer} names '{name}', but {folder} does not exist (deleted or moved?). Write the name of an existing checkpoint folder into {pointer}, or delete it to start fresh.");
        return Open(folder);
    }

    /// <summary>
    /// Copies the weights into <paramref name="model"/>'s parameters and buffers after checking that every name and
    /// shape matches; a mismatch throws one message listing all differences (missing, unexpected, shape) and the fix.
    /// </summary>
    public void LoadModel(nn.Module model) => LoadInto(model.state_dict());

    /// <summary>
    /// Copies the weights of <paramref name="file"/> (model.safetensors unless named) into the tensors of
    /// <paramref name="target"/> (a state dict), checking names and shapes as <see cref="LoadModel"/>.
    /// </summary>
    public void LoadInto(IReadOnlyDictionary<string, Tensor> target, string file = ModelFile)
    {
        if (file == ModelFile)
        {
            // One file or shards listed in model.safetensors.index.json, in whatever dtype they were stored.
            WeightFiles.LoadInto(Directory, target, WithoutAliases(target).Keys.ToHashSet(), Config);
            return;
        }
        string path = Path.Combine(Directory, file);
        if (!File.Exists(path)) throw new FileNotFoundException($"{path} is missing from this checkpoint. Resume from another checkpoint of the run.", path);
        using var handle = File.OpenHandle(path);
        var header = SafeTensorsReader.ReadHeader(handle, path);
        StateDictCheck.ThrowIfMismatched(header, target, WithoutAliases(target).Keys.ToHashSet(), Config);
        using var noGrad = no_grad();
        foreach (var info in header.Tensors)
        {
            using var scope = NewDisposeScope();
            var loaded = SafeTensorsReader.ReadTensor(handle, header, info);
            target[info.Name].copy_(loaded); // converts dtype/device when the model differs from the file
        }
    }

    /// <summary>The optimizer state saved with this checkpoint, by name; the caller owns the tensors.</summary>
    public Dictionary<string, Tensor> LoadOptimizer()
    {
        string path = Path.Combine(Directory, OptimizerFile);
        if (!File.Exists(path))
            throw new FileNotFoundException($"{path} is missing: this checkpoint holds weights only. Resume from a training checkpoint, or start the optimizer fresh.", path);
        return SafeTensors.Load(path);
    }
}
