using System.CommandLine;
using Aha.Export;

namespace Aha.Cli.Commands;

/// <summary>`aha export gguf`: a checkpoint (optionally with a LoRA adapter merged in) as a GGUF file llama.cpp and Ollama load.</summary>
static class ExportCommand
{
    public static Command Create()
    {
        var command = new Command("export", "Write a model in another runtime's format.");
        command.Subcommands.Add(Gguf());
        return command;
    }

    static Command Gguf()
    {
        var model = new Option<string>("--model") { Description = "The checkpoint or run folder to export (llama, qwen2, qwen3 or an Aha byte model).", Required = true };
        var adapter = new Option<string?>("--adapter") { Description = "A LoRA adapter folder to merge into the model first (as `aha merge` does)." };
        var output = new Option<string>("--out") { Description = "The .gguf file to write (replaced when it exists; written through a temporary file).", Required = true };
        var type = new Option<string>("--type") { Description = "Weight encoding: f32, f16 or q8_0 (norms and biases stay f32; q8_0 rows that are not whole 32-value blocks fall back to f16).", DefaultValueFactory = _ => "f16" };
        var command = new Command("gguf", "Export to GGUF v3 for llama.cpp and Ollama: architecture metadata, llama.cpp tensor names, the BPE tokenizer and chat template.")
        {
            model, adapter, output, type,
        };
        command.SetAction(r => Cli.Run(() =>
        {
            var encoding = GgufExport.ParseType(r.GetValue(type)!);
            Runtime.TorchRuntime.Initialize();
            var result = GgufExport.Write(r.GetValue(model)!, r.GetValue(adapter), r.GetValue(output)!, encoding);
            string types = string.Join(", ", result.TensorTypes.OrderBy(t => t.Key).Select(t => $"{t.Value} {t.Key.ToString().ToLowerInvariant()}"));
            Console.Error.WriteLine($"{result.Architecture}, {result.Tensors} tensors ({types}), {result.Vocabulary.Tokens.Count} tokens, " +
                $"pre-tokenizer {result.Vocabulary.PreTokenizer}, {result.Bytes / 1048576.0:F1} MiB");
            Console.WriteLine(result.Path);
        }));
        return command;
    }
}
