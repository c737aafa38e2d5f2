// Min-of-N timings of the three native kernels at the JMH shapes (DenseProjectionBench,
// MaskPoolBench soft, SlotAttentionBench), outside the JVM. With a second argument "c": one
// pool thread, measured in the calling thread's CPU time, which other processes on a shared
// machine disturb far less than wall time (ort_cpu_time.py is the ONNX Runtime counterpart).
// Build (repository root, after the native library is built):
//   g++ -O2 -std=c++17 -Inative/include benchmarks/issue13/kernel_cpu_time.cpp -o target/kernel_cpu_time \
//       -Ljava/target/native/lib -lovseg_cpu -Wl,-rpath,$PWD/java/target/native/lib
// Run: target/kernel_cpu_time 100 c
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>
#include <algorithm>
#include <random>
#include <functional>
#include "ovseg.h"
#include <time.h>
static bool cpu_mode=false;
static double now(){ timespec ts; clock_gettime(cpu_mode?CLOCK_THREAD_CPUTIME_ID:CLOCK_MONOTONIC,&ts); return ts.tv_sec*1e6+ts.tv_nsec*1e-3; }
static double tmin(std::function<void()> f, int reps, double *med) {
  if (reps < 1) reps = 1;
  std::vector<double> t; for (int i=0;i<reps;i++){double a=now(); f(); double b=now(); t.push_back(b-a);}
  std::sort(t.begin(),t.end()); *med=t[t.size()/2]; return t[0]; }
int main(int argc,char**argv){
  std::mt19937 g(1); std::uniform_real_distribution<float> u(-1,1);
  auto R=[&](size_t n,float s){std::vector<float> v(n); for(auto&x:v)x=u(g)*s; return v;};
  int reps= argc>1?atoi(argv[1]):200; double med;
  if (argc>2 && argv[2][0]=='c') { cpu_mode=true; ovseg_cpu_set_threads(1); printf("single thread, thread CPU time\n"); }
  { int64_t P=784,D=768,E=512;
    auto F=R(P*D,1),W=R(E*D,0.05f);
    ovseg_dense_head*h; ovseg_cpu_dense_head_create(W.data(),nullptr,E,D,&h);
    for (int64_t K: {21,171}) { auto T=R(K*E,0.05f); std::vector<float> L(K*P);
      double m=tmin([&]{ovseg_cpu_dense_head_project(h,F.data(),1,P,D,T.data(),K,100.f,L.data(),nullptr,nullptr);},reps,&med);
      printf("dense prepared K=%ld  min %.0f us  med %.0f us\n",(long)K,m,med);
      m=tmin([&]{ovseg_cpu_dense_projection(F.data(),1,P,D,W.data(),nullptr,E,T.data(),K,100.f,L.data(),nullptr,nullptr);},reps,&med);
      printf("dense percall  K=%ld  min %.0f us  med %.0f us\n",(long)K,m,med);
    }
    ovseg_cpu_dense_head_free(h);}
  { int64_t Q=100,C=768,HW=4096; auto F=R(C*HW,1),M=R(Q*HW,4); std::vector<float> o(Q*C);
    double m=tmin([&]{ovseg_cpu_mask_pool(F.data(),M.data(),1,C,Q,HW,OVSEG_MASK_SOFT,1,o.data());},reps/2,&med);
    printf("maskpool soft   min %.0f us  med %.0f us\n",m,med);}
  for (int64_t S: {8,64}) { int64_t N=784,d=256,dv=256; auto q=R(S*d,1),k=R(N*d,1),v=R(N*dv,1); std::vector<float> up(S*dv),as(N*S);
    double m=tmin([&]{ovseg_cpu_slot_attention(q.data(),k.data(),v.data(),1,S,N,d,dv,0.f,1e-6f,0,up.data(),as.data());},reps*4,&med);
    printf("slots S=%ld  min %.0f us  med %.0f us\n",(long)S,m,med);}
}
