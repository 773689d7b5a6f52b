using Aha.Checkpoints;
using System.CommandLine;
using Aha.Model;
using Aha.Runtime;
using TorchSharp;

namespace Aha.Cli.Commands;

static class InfoCommand
{
    public static Command Create()
    {
        var modelPath = new Option<string?>("--model") { Description = "A checkpoint or run folder: show its shape, sizes and config." };
        var command = new Command("info", "Show the runtime (libtorch, threads, devices); with --model, the checkpoint's shape and sizes.") { modelPath };
        command.SetAction(r => Cli.Run(() =>
        {
            TorchRuntime.Initialize();
            Console.WriteLine($"libtorch: {TorchRuntime.NativeStatus}");
            Console.WriteLine($"threads:  {torch.get_num_threads()}");
            Console.WriteLine($"cuda:     {(torch.cuda.is_available() ? "available" : "not available")}");
            if (r.GetValue(modelPath) is not { } path) return;
            var checkpoint = ModelLoader.Open(path);
            var config = checkpoint.Config;
            // The meta device gives every shape without allocating or reading a weight.
            using var model = new LlamaModel(config, torch.META);
            long parameters = model.parameters().Sum(p => p.numel());
            long kvBytesPerToken = 2L * config.NumHiddenLayers * config.NumKeyValueHeads * config.HeadDim * sizeof(float);
            Console.WriteLine($"checkpoint: {checkpoint.Directory}{(checkpoint.State is { } s ? $" (step {s.Step}, {s.Trainer})" : "")}");
            Console.WriteLine($"parameters: {parameters:N0}");
            Console.WriteLine($"layers:     {config.NumHiddenLayers} × (d {config.HiddenSize}, heads {config.NumAttentionHeads}/{config.NumKeyValueHeads} kv, ffn {config.IntermediateSize})");
            Console.WriteLine($"kv cache:   {kvBytesPerToken:N0} bytes per token (fp32)");
            Console.WriteLine($"config:     {config.ToJson().ReplaceLineEndings("\n            ")}");
        }));
        return command;
    }
}
