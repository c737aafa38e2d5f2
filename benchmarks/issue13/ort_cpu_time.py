"""ONNX Runtime's min-of-N timings of the formulations in OrtFormulations.java (MatMul, Sigmoid,
Softmax, ReduceSum, ...) at the JMH shapes, through onnxruntime's Python API; with a second
argument "c": one intra-op thread, timed in the calling thread's CPU time (kernel_cpu_time.cpp
is the native counterpart). Usage: python ort_cpu_time.py 100 c   (needs numpy, onnx, onnxruntime)
"""
import sys, time, numpy as np, onnx, onnxruntime as ort
from onnx import helper as h, TensorProto as TP, numpy_helper as nh
reps=int(sys.argv[1]) if len(sys.argv)>1 else 200
cpu=len(sys.argv)>2 and sys.argv[2]=='c'
clock=time.thread_time if cpu else time.perf_counter
def sess(nodes, inputs, outputs, inits):
    g=h.make_graph(nodes,"g",inputs,outputs,inits)
    m=h.make_model(g,opset_imports=[h.make_opsetid("",17)]); m.ir_version=8
    o=ort.SessionOptions(); o.intra_op_num_threads=1 if cpu else 2
    return ort.InferenceSession(m.SerializeToString(),o,providers=["CPUExecutionProvider"])
def vi(n,s): return h.make_tensor_value_info(n,TP.FLOAT,s)
def c(n,v): return nh.from_array(np.array(v,dtype=np.float32).reshape(()) if np.ndim(v)==0 else np.asarray(v,np.float32),n)
def tmin(f,r):
    t=[]
    for _ in range(r):
        a=clock(); f(); t.append((clock()-a)*1e6)
    t.sort(); return t[0], t[len(t)//2]
rng=np.random.default_rng(0)
P,D,E=784,768,512
for K in (21,171):
    Wt=rng.uniform(-.05,.05,(D,E)).astype(np.float32); Tt=rng.uniform(-.05,.05,(E,K)).astype(np.float32)
    ax=nh.from_array(np.array([-1],np.int64),"ax")
    nodes=[h.make_node("MatMul",["F","Wt"],["z"]),h.make_node("Mul",["z","z"],["zz"]),h.make_node("ReduceSum",["zz","ax"],["s"],keepdims=1),
           h.make_node("Sqrt",["s"],["n"]),h.make_node("Max",["n","eps"],["nm"]),h.make_node("Div",["z","nm"],["zn"]),
           h.make_node("MatMul",["zn","Tt"],["l0"]),h.make_node("Mul",["l0","tau"],["logits"])]
    s=sess(nodes,[vi("F",[P,D])],[vi("logits",[P,K])],[nh.from_array(Wt,"Wt"),nh.from_array(Tt,"Tt"),ax,c("eps",1e-12),c("tau",100.)])
    F=rng.uniform(-1,1,(P,D)).astype(np.float32)
    print("ORT dense K=%d min %.0f us med %.0f us"%((K,)+tmin(lambda: s.run(None,{"F":F}),reps)))
C,Q,HW=768,100,4096
ax=nh.from_array(np.array([-1],np.int64),"ax")
nodes=[h.make_node("Sigmoid",["M"],["w"]),h.make_node("Transpose",["F"],["Ft"],perm=[1,0]),h.make_node("MatMul",["w","Ft"],["p"]),
       h.make_node("ReduceSum",["w","ax"],["ms"],keepdims=1),h.make_node("Add",["ms","e8"],["ms2"]),h.make_node("Div",["p","ms2"],["pooled"]),
       h.make_node("Mul",["pooled","pooled"],["pp"]),h.make_node("ReduceSum",["pp","ax"],["s"],keepdims=1),h.make_node("Sqrt",["s"],["n"]),
       h.make_node("Max",["n","eps"],["nm"]),h.make_node("Div",["pooled","nm"],["out"])]
s=sess(nodes,[vi("F",[C,HW]),vi("M",[Q,HW])],[vi("out",[Q,C])],[ax,c("e8",1e-8),c("eps",1e-12)])
F=rng.uniform(-1,1,(C,HW)).astype(np.float32); M=rng.uniform(-4,4,(Q,HW)).astype(np.float32)
print("ORT maskpool soft min %.0f us med %.0f us"%tmin(lambda: s.run(None,{"F":F,"M":M}),reps//2))
for S in (8,64):
    N,d,dv=784,256,256
    a0=nh.from_array(np.array([0],np.int64),"a0")
    nodes=[h.make_node("Transpose",["q"],["qt"],perm=[1,0]),h.make_node("MatMul",["k","qt"],["l"]),h.make_node("Mul",["l","sc"],["ls"]),
           h.make_node("Softmax",["ls"],["a"],axis=-1),h.make_node("ReduceSum",["a","a0"],["cs"],keepdims=1),h.make_node("Transpose",["cs"],["cst"],perm=[1,0]),
           h.make_node("Add",["cst","e6"],["col"]),h.make_node("Transpose",["a"],["at"],perm=[1,0]),h.make_node("MatMul",["at","v"],["u"]),h.make_node("Div",["u","col"],["updates"])]
    s=sess(nodes,[vi("q",[S,d]),vi("k",[N,d]),vi("v",[N,dv])],[vi("updates",[S,dv])],[a0,c("sc",1/16.),c("e6",1e-6)])
    q=rng.uniform(-1,1,(S,d)).astype(np.float32);k=rng.uniform(-1,1,(N,d)).astype(np.float32);v=rng.uniform(-1,1,(N,dv)).astype(np.float32)
    print("ORT slots S=%d min %.0f us med %.0f us"%((S,)+tmin(lambda: s.run(None,{"q":q,"k":k,"v":v}),reps*4)))
