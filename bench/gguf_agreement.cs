#:project ../src/Aha/Aha.csproj
#:package LLamaSharp
#:package LLamaSharp.Backend.Cpu
#:property PublishAot=false
// How closely llama.cpp, running Aha's GGUF export, reproduces Aha's greedy completions on a trained model (not run in CI):
//
//     dotnet run -c Release bench/gguf_agreement.cs [-- --model runs/demo/pretrain/step-000900 --problems 200 --max-tokens 64]
//
// Exports the model to f32, f16 and q8_0, then decodes the task's held-out problems (the addition task's test split, the
// Short prompt style `aha eval` uses) greedily in llama.cpp (LLamaSharp 0.30, CPU) under two settings: "exact" (f32 KV
// cache, flash attention off) and llama.cpp's defaults (f16 KV cache, flash attention auto), and counts the completions
// identical to Aha's f32 greedy ones (each up to its stop token or the token limit). Prints a table and one JSON line last.
using System.Runtime.Intrinsics.X86;
using System.Text.Json.Nodes;
using Aha.Checkpoints;
using Aha.Eval;
using Aha.Export;
using Aha.Generation;
using Aha.Runtime;
using Aha.Tasks;
using LLama;
using LLama.Common;
using LLama.Native;

string modelPath = "runs/demo/pretrain/step-000900";
int problemCount = 200, maxTokens = 64;
for (int i = 0; i + 1 < args.Length; i += 2)
{
    if (args[i] == "--model") modelPath = args[i + 1];
    else if (args[i] == "--problems") problemCount = int.Parse(args[i + 1]);
    else if (args[i] == "--max-tokens") maxTokens = int.Parse(args[i + 1]);
    else throw new ArgumentException($"unknown option {args[i]}; use --model DIR, --problems N, --max-tokens N");
}
TorchRuntime.Initialize(2);
var level = Avx512F.IsSupported ? AvxLevel.Avx512 : Avx2.IsSupported ? AvxLevel.Avx2 : AvxLevel.None;
NativeLibraryConfig.All.WithAvx(level).WithAutoFallback(false).WithCuda(false).WithVulkan(false).WithLogCallback((_, _) => { });

var (model, checkpoint) = ModelLoader.OpenAndLoad(modelPath);
using var _ = model;
var tokenizer = checkpoint.Tokenizer;
var task = TaskRegistry.Addition();
var prompts = ModelEvaluator.Problems(task, problemCount).Select(item => PromptSpec.For(tokenizer, task, item, PromptStyle.Short).Ids).ToList();
var stops = tokenizer.StopIds.ToHashSet();
var engine = new Engine(model);
var reference = engine.Generate(prompts.Select(p => new GenerationRequest(p)).ToList(),
    new SamplingOptions { Temperature = 0, MaxNewTokens = maxTokens, StopTokenIds = tokenizer.StopIds }).Select(c => c.TokenIds.ToArray()).ToList();

string folder = Directory.CreateTempSubdirectory("aha-gguf-agreement-").FullName;
var json = new JsonObject { ["bench"] = "gguf_agreement", ["model"] = Path.GetFullPath(modelPath), ["problems"] = prompts.Count, ["max_tokens"] = maxTokens };
Console.WriteLine($"llama.cpp greedy vs Aha f32 greedy on {prompts.Count} held-out {task.Name} problems ({Path.GetFullPath(modelPath)}, up to {maxTokens} tokens)");
Console.WriteLine("| GGUF type | llama.cpp settings | identical completions | tokens before the first difference |");
Console.WriteLine("|---|---|---:|---:|");
foreach (var type in new[] { GgufTensorType.F32, GgufTensorType.F16, GgufTensorType.Q8_0 })
{
    string file = Path.Combine(folder, $"model-{type}.gguf");
    GgufExport.Write(model, tokenizer, file, type);
    foreach (bool exact in new[] { true, false })
    {
        var parameters = new ModelParams(file) { ContextSize = 512, BatchSize = 512, Threads = 2, GpuLayerCount = 0 };
        if (exact) parameters = new ModelParams(file)
        {
            ContextSize = 512, BatchSize = 512, Threads = 2, GpuLayerCount = 0,
            TypeK = GGMLType.GGML_TYPE_F32, TypeV = GGMLType.GGML_TYPE_F32, FlashAttention = false,
        };
        using var weights = LLamaWeights.LoadFromFile(parameters);
        using var context = weights.CreateContext(parameters);
        int identical = 0, leading = 0, total = 0;
        for (int p = 0; p < prompts.Count; p++)
        {
            var tokens = Greedy(context, prompts[p]);
            identical += tokens.SequenceEqual(reference[p]) ? 1 : 0;
            leading += tokens.Zip(reference[p]).TakeWhile(t => t.First == t.Second).Count();
            total += reference[p].Length;
        }
        string settings = exact ? "exact (f32 KV, no flash attention)" : "defaults (f16 KV, flash attention auto)";
        Console.WriteLine($"| {type.ToString().ToLowerInvariant()} | {settings} | {identical}/{prompts.Count} ({(double)identical / prompts.Count:P1}) | {leading}/{total} |");
        json[$"identical_{type.ToString().ToLowerInvariant()}_{(exact ? "exact" : "defaults")}"] = identical;
    }
}
Directory.Delete(folder, recursive: true);
Console.WriteLine(json.ToJsonString());

int[] Greedy(LLamaContext context, int[] prompt)
{
    context.NativeHandle.MemoryClear(true);
    var batch = new LLamaBatch();
    for (int i = 0; i < prompt.Length; i++) batch.Add((LLamaToken)prompt[i], i, (LLamaSeqId)0, i == prompt.Length - 1);
    var tokens = new List<int>();
    while (tokens.Count < maxTokens)
    {
        if (context.NativeHandle.Decode(batch) != DecodeResult.Ok) throw new InvalidOperationException("llama_decode failed");
        var logits = context.NativeHandle.GetLogitsIth(batch.TokenCount - 1);
        int best = 0;
        for (int v = 1; v < logits.Length; v++) if (logits[v] > logits[best]) best = v;
        tokens.Add(best);
        if (stops.Contains(best)) break;
        batch.Clear();
        batch.Add((LLamaToken)best, prompt.Length + tokens.Count - 1, (LLamaSeqId)0, true);
    }
    return [.. tokens];
}
