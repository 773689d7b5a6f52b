using System.CommandLine;
using Aha.Checkpoints;
using TorchSharp;

namespace Aha.Cli.Commands;

/// <summary>`aha merge`: base + LoRA adapter → a plain checkpoint (W + (α/r)·B·A in the base's storage dtype, tokenizer copied).</summary>
static class MergeCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "The base model the adapter was trained on (checkpoint or run folder).", Required = true };
        var adapter = new Option<string>("--adapter") { Description = "The LoRA adapter folder (adapter_config.json + adapter_model.safetensors).", Required = true };
        var output = new Option<string>("--out") { Description = "Folder for the merged checkpoint (must not exist yet).", Required = true };
        var command = new Command("merge", "Fold a LoRA adapter into its base model and save a plain checkpoint that any command (and transformers) loads.")
        {
            model, adapter, output,
        };
        command.SetAction(r => Cli.Run(() =>
        {
            Runtime.TorchRuntime.Initialize();
            var adapterCheckpoint = AdapterCheckpoint.Open(r.GetValue(adapter)!);
            // fp32 compute: the sum W + s·B·A is formed in fp32 and rounded once to the storage dtype on save.
            var (merged, baseCheckpoint) = ModelLoader.OpenAndLoad(r.GetValue(model)!, torch.CPU, torch.ScalarType.Float32);
            using var _ = merged;
            adapterCheckpoint.AttachTo(merged);
            merged.MergeLora();
            string outDir = Path.GetFullPath(r.GetValue(output)!);
            if (Directory.Exists(outDir) && Directory.EnumerateFileSystemEntries(outDir).Any())
                throw new IOException($"{outDir} already exists and is not empty; choose another --out or delete it.");
            if (Directory.Exists(outDir)) Directory.Delete(outDir);
            string parent = Path.GetDirectoryName(outDir)!;
            string saved = Checkpoint.Save(parent, Path.GetFileName(outDir), merged, baseCheckpoint.Config, baseCheckpoint.Tokenizer,
                options: new CheckpointOptions { UpdateLatest = false, KeepLast = 0, GenerationConfigFrom = baseCheckpoint.Directory });
            Console.Error.WriteLine($"merged {adapterCheckpoint.Directory} (r {adapterCheckpoint.Config.Rank}, α {adapterCheckpoint.Config.Alpha}) into {baseCheckpoint.Directory}");
            Console.WriteLine(saved);
        }));
        return command;
    }
}
