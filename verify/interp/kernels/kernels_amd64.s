//go:build amd64 && !purego

#include "textflag.h"

// func cpuid(eaxArg, ecxArg uint32) (eax, ebx, ecx, edx uint32)
TEXT ·cpuid(SB), NOSPLIT, $0-24
	MOVL eaxArg+0(FP), AX
	MOVL ecxArg+4(FP), CX
	CPUID
	MOVL AX, eax+8(FP)
	MOVL BX, ebx+12(FP)
	MOVL CX, ecx+16(FP)
	MOVL DX, edx+20(FP)
	RET

// func xgetbv() (eax, edx uint32)
TEXT ·xgetbv(SB), NOSPLIT, $0-8
	MOVL $0, CX
	XGETBV
	MOVL AX, eax+0(FP)
	MOVL DX, edx+4(FP)
	RET

// One k step of the 6x16 micro-kernel: B row in Y12:Y13, A column at
// off(SI), accumulators Y0..Y11.
#define MICRO_STEP(off) \
	VMOVUPS off*64(DI), Y12 \
	VMOVUPS off*64+32(DI), Y13 \
	VBROADCASTSS off*24(SI), Y14 \
	VFMADD231PS Y12, Y14, Y0 \
	VFMADD231PS Y13, Y14, Y1 \
	VBROADCASTSS off*24+4(SI), Y15 \
	VFMADD231PS Y12, Y15, Y2 \
	VFMADD231PS Y13, Y15, Y3 \
	VBROADCASTSS off*24+8(SI), Y14 \
	VFMADD231PS Y12, Y14, Y4 \
	VFMADD231PS Y13, Y14, Y5 \
	VBROADCASTSS off*24+12(SI), Y15 \
	VFMADD231PS Y12, Y15, Y6 \
	VFMADD231PS Y13, Y15, Y7 \
	VBROADCASTSS off*24+16(SI), Y14 \
	VFMADD231PS Y12, Y14, Y8 \
	VFMADD231PS Y13, Y14, Y9 \
	VBROADCASTSS off*24+20(SI), Y15 \
	VFMADD231PS Y12, Y15, Y10 \
	VFMADD231PS Y13, Y15, Y11

#define STORE_ROW(lo, hi) \
	VMOVUPS lo, (DX) \
	VMOVUPS hi, 32(DX) \
	ADDQ R8, DX

#define ADD_STORE_ROW(lo, hi) \
	VADDPS (DX), lo, lo \
	VADDPS 32(DX), hi, hi \
	VMOVUPS lo, (DX) \
	VMOVUPS hi, 32(DX) \
	ADDQ R8, DX

// func micro6x16AVX2(kc int, a, b, c *float32, ldc int, bias *[6]float32, acc bool)
TEXT ·micro6x16AVX2(SB), NOSPLIT, $0-49
	MOVQ kc+0(FP), CX
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), DI
	MOVQ c+24(FP), DX
	MOVQ ldc+32(FP), R8
	SHLQ $2, R8
	MOVQ bias+40(FP), AX
	TESTQ AX, AX
	JEQ zeroInit
	VBROADCASTSS (AX), Y0
	VMOVAPS Y0, Y1
	VBROADCASTSS 4(AX), Y2
	VMOVAPS Y2, Y3
	VBROADCASTSS 8(AX), Y4
	VMOVAPS Y4, Y5
	VBROADCASTSS 12(AX), Y6
	VMOVAPS Y6, Y7
	VBROADCASTSS 16(AX), Y8
	VMOVAPS Y8, Y9
	VBROADCASTSS 20(AX), Y10
	VMOVAPS Y10, Y11
	JMP loop4

zeroInit:
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	VXORPS Y8, Y8, Y8
	VXORPS Y9, Y9, Y9
	VXORPS Y10, Y10, Y10
	VXORPS Y11, Y11, Y11

loop4:
	CMPQ CX, $4
	JLT loop1
	MICRO_STEP(0)
	MICRO_STEP(1)
	MICRO_STEP(2)
	MICRO_STEP(3)
	ADDQ $96, SI
	ADDQ $256, DI
	SUBQ $4, CX
	JMP loop4

loop1:
	TESTQ CX, CX
	JEQ store
	MICRO_STEP(0)
	ADDQ $24, SI
	ADDQ $64, DI
	DECQ CX
	JMP loop1

store:
	MOVBLZX acc+48(FP), AX
	TESTB AL, AL
	JNE accumulate
	STORE_ROW(Y0, Y1)
	STORE_ROW(Y2, Y3)
	STORE_ROW(Y4, Y5)
	STORE_ROW(Y6, Y7)
	STORE_ROW(Y8, Y9)
	STORE_ROW(Y10, Y11)
	VZEROUPPER
	RET

accumulate:
	ADD_STORE_ROW(Y0, Y1)
	ADD_STORE_ROW(Y2, Y3)
	ADD_STORE_ROW(Y4, Y5)
	ADD_STORE_ROW(Y6, Y7)
	ADD_STORE_ROW(Y8, Y9)
	ADD_STORE_ROW(Y10, Y11)
	VZEROUPPER
	RET

// maskTab<>+(8-r)*4 holds a YMM mask selecting the first r lanes.
DATA maskTab<>+0(SB)/4, $0xffffffff
DATA maskTab<>+4(SB)/4, $0xffffffff
DATA maskTab<>+8(SB)/4, $0xffffffff
DATA maskTab<>+12(SB)/4, $0xffffffff
DATA maskTab<>+16(SB)/4, $0xffffffff
DATA maskTab<>+20(SB)/4, $0xffffffff
DATA maskTab<>+24(SB)/4, $0xffffffff
DATA maskTab<>+28(SB)/4, $0xffffffff
DATA maskTab<>+32(SB)/4, $0
DATA maskTab<>+36(SB)/4, $0
DATA maskTab<>+40(SB)/4, $0
DATA maskTab<>+44(SB)/4, $0
DATA maskTab<>+48(SB)/4, $0
DATA maskTab<>+52(SB)/4, $0
DATA maskTab<>+56(SB)/4, $0
DATA maskTab<>+60(SB)/4, $0
GLOBL maskTab<>(SB), RODATA|NOPTR, $64

// func tapsAVX2(dst *float32, n int, base *float32, offs *int, w *float32, ntaps int, init float32)
// dst[i] = init + sum_t w[t]*base[offs[t]+i] for i < n; ntaps >= 1.
TEXT ·tapsAVX2(SB), NOSPLIT, $0-52
	MOVQ dst+0(FP), DI
	MOVQ n+8(FP), CX
	MOVQ base+16(FP), SI
	MOVQ offs+24(FP), R8
	MOVQ w+32(FP), R9
	MOVQ ntaps+40(FP), R10
	MOVQ R10, R14
	ANDQ $-2, R14
	VBROADCASTSS init+48(FP), Y15

loop64:
	CMPQ CX, $64
	JLT loop32
	VMOVAPS Y15, Y0
	VMOVAPS Y15, Y1
	VMOVAPS Y15, Y2
	VMOVAPS Y15, Y3
	VMOVAPS Y15, Y4
	VMOVAPS Y15, Y5
	VMOVAPS Y15, Y6
	VMOVAPS Y15, Y7
	XORQ R11, R11

tap64:
	MOVQ (R8)(R11*8), R12
	LEAQ (SI)(R12*4), R13
	VBROADCASTSS (R9)(R11*4), Y8
	VFMADD231PS (R13), Y8, Y0
	VFMADD231PS 32(R13), Y8, Y1
	VFMADD231PS 64(R13), Y8, Y2
	VFMADD231PS 96(R13), Y8, Y3
	VFMADD231PS 128(R13), Y8, Y4
	VFMADD231PS 160(R13), Y8, Y5
	VFMADD231PS 192(R13), Y8, Y6
	VFMADD231PS 224(R13), Y8, Y7
	INCQ R11
	CMPQ R11, R10
	JLT tap64
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	VMOVUPS Y2, 64(DI)
	VMOVUPS Y3, 96(DI)
	VMOVUPS Y4, 128(DI)
	VMOVUPS Y5, 160(DI)
	VMOVUPS Y6, 192(DI)
	VMOVUPS Y7, 224(DI)
	ADDQ $256, DI
	ADDQ $256, SI
	SUBQ $64, CX
	JMP loop64

loop32:
	CMPQ CX, $32
	JLT loop16
	VMOVAPS Y15, Y0
	VMOVAPS Y15, Y1
	VMOVAPS Y15, Y2
	VMOVAPS Y15, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	XORQ R11, R11

	// Taps in pairs into two accumulator sets, for more independent
	// FMA chains.
pair32:
	CMPQ R11, R14
	JGE single32
	MOVQ (R8)(R11*8), R12
	LEAQ (SI)(R12*4), R13
	VBROADCASTSS (R9)(R11*4), Y8
	VFMADD231PS (R13), Y8, Y0
	VFMADD231PS 32(R13), Y8, Y1
	VFMADD231PS 64(R13), Y8, Y2
	VFMADD231PS 96(R13), Y8, Y3
	MOVQ 8(R8)(R11*8), R12
	LEAQ (SI)(R12*4), R13
	VBROADCASTSS 4(R9)(R11*4), Y9
	VFMADD231PS (R13), Y9, Y4
	VFMADD231PS 32(R13), Y9, Y5
	VFMADD231PS 64(R13), Y9, Y6
	VFMADD231PS 96(R13), Y9, Y7
	ADDQ $2, R11
	JMP pair32

single32:
	CMPQ R11, R10
	JGE sum32
	MOVQ (R8)(R11*8), R12
	LEAQ (SI)(R12*4), R13
	VBROADCASTSS (R9)(R11*4), Y8
	VFMADD231PS (R13), Y8, Y0
	VFMADD231PS 32(R13), Y8, Y1
	VFMADD231PS 64(R13), Y8, Y2
	VFMADD231PS 96(R13), Y8, Y3

sum32:
	VADDPS Y4, Y0, Y0
	VADDPS Y5, Y1, Y1
	VADDPS Y6, Y2, Y2
	VADDPS Y7, Y3, Y3
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	VMOVUPS Y2, 64(DI)
	VMOVUPS Y3, 96(DI)
	ADDQ $128, DI
	ADDQ $128, SI
	SUBQ $32, CX
	JMP loop32

loop16:
	CMPQ CX, $16
	JLT loop8
	VMOVAPS Y15, Y0
	VMOVAPS Y15, Y1
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	XORQ R11, R11

pair16:
	CMPQ R11, R14
	JGE single16
	MOVQ (R8)(R11*8), R12
	LEAQ (SI)(R12*4), R13
	VBROADCASTSS (R9)(R11*4), Y8
	VFMADD231PS (R13), Y8, Y0
	VFMADD231PS 32(R13), Y8, Y1
	MOVQ 8(R8)(R11*8), R12
	LEAQ (SI)(R12*4), R13
	VBROADCASTSS 4(R9)(R11*4), Y9
	VFMADD231PS (R13), Y9, Y4
	VFMADD231PS 32(R13), Y9, Y5
	ADDQ $2, R11
	JMP pair16

single16:
	CMPQ R11, R10
	JGE sum16
	MOVQ (R8)(R11*8), R12
	LEAQ (SI)(R12*4), R13
	VBROADCASTSS (R9)(R11*4), Y8
	VFMADD231PS (R13), Y8, Y0
	VFMADD231PS 32(R13), Y8, Y1

sum16:
	VADDPS Y4, Y0, Y0
	VADDPS Y5, Y1, Y1
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	ADDQ $64, DI
	ADDQ $64, SI
	SUBQ $16, CX
	JMP loop16

loop8:
	CMPQ CX, $8
	JLT tail
	VMOVAPS Y15, Y0
	XORQ R11, R11

tap8:
	MOVQ (R8)(R11*8), R12
	VBROADCASTSS (R9)(R11*4), Y8
	VFMADD231PS (SI)(R12*4), Y8, Y0
	INCQ R11
	CMPQ R11, R10
	JLT tap8
	VMOVUPS Y0, (DI)
	ADDQ $32, DI
	ADDQ $32, SI
	SUBQ $8, CX
	JMP loop8

tail:
	TESTQ CX, CX
	JEQ done
	MOVQ $8, AX
	SUBQ CX, AX
	LEAQ maskTab<>(SB), BX
	VMOVDQU (BX)(AX*4), Y9
	VMOVAPS Y15, Y0
	XORQ R11, R11

tapT:
	MOVQ (R8)(R11*8), R12
	LEAQ (SI)(R12*4), R13
	VMASKMOVPS (R13), Y9, Y10
	VBROADCASTSS (R9)(R11*4), Y8
	VFMADD231PS Y10, Y8, Y0
	INCQ R11
	CMPQ R11, R10
	JLT tapT
	VMASKMOVPS Y0, Y9, (DI)

done:
	VZEROUPPER
	RET

// func deinterleave2AVX2(even, odd, src *float32, n int)
// even[i] = src[2i], odd[i] = src[2i+1] for i < n, n a multiple of 8.
TEXT ·deinterleave2AVX2(SB), NOSPLIT, $0-32
	MOVQ even+0(FP), DI
	MOVQ odd+8(FP), DX
	MOVQ src+16(FP), SI
	MOVQ n+24(FP), CX
	SHRQ $3, CX
	JEQ dDone

dLoop:
	VMOVUPS (SI), Y0
	VMOVUPS 32(SI), Y1
	VSHUFPS $0x88, Y1, Y0, Y2
	VSHUFPS $0xDD, Y1, Y0, Y3
	VPERMPD $0xD8, Y2, Y2
	VPERMPD $0xD8, Y3, Y3
	VMOVUPS Y2, (DI)
	VMOVUPS Y3, (DX)
	ADDQ $64, SI
	ADDQ $32, DI
	ADDQ $32, DX
	DECQ CX
	JNE dLoop

dDone:
	VZEROUPPER
	RET

// func scaleShiftAVX2(dst, src *float32, n int, a, b float32)
// dst[i] = src[i]*a + b for i < n, n a multiple of 32. The product is not
// fused, so that the result matches the portable version bit for bit.
TEXT ·scaleShiftAVX2(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	VBROADCASTSS a+24(FP), Y8
	VBROADCASTSS b+28(FP), Y9
	SHRQ $5, CX
	JEQ sDone

sLoop:
	VMULPS (SI), Y8, Y0
	VMULPS 32(SI), Y8, Y1
	VMULPS 64(SI), Y8, Y2
	VMULPS 96(SI), Y8, Y3
	VADDPS Y9, Y0, Y0
	VADDPS Y9, Y1, Y1
	VADDPS Y9, Y2, Y2
	VADDPS Y9, Y3, Y3
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	VMOVUPS Y2, 64(DI)
	VMOVUPS Y3, 96(DI)
	ADDQ $128, SI
	ADDQ $128, DI
	DECQ CX
	JNE sLoop

sDone:
	VZEROUPPER
	RET

// func copyPanelsAVX2(dst, src *float32, n, stride int)
// Copies n runs of 16 floats from src (contiguous) to dst + q*stride.
TEXT ·copyPanelsAVX2(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	MOVQ stride+24(FP), DX
	SHLQ $2, DX

cpLoop:
	VMOVUPS (SI), Y0
	VMOVUPS 32(SI), Y1
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	ADDQ $64, SI
	ADDQ DX, DI
	DECQ CX
	JNE cpLoop
	VZEROUPPER
	RET

// func clampAVX2(dst, src *float32, n int, lo, hi float32)
// dst[i] = min(max(src[i], lo), hi) for i < n, n a multiple of 32. The
// element is the second source of VMAXPS and VMINPS, which they return
// when an operand is NaN: NaN elements stay NaN.
TEXT ·clampAVX2(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	VBROADCASTSS lo+24(FP), Y8
	VBROADCASTSS hi+28(FP), Y9
	SHRQ $5, CX
	JEQ cDone

cLoop:
	VMAXPS (SI), Y8, Y0
	VMAXPS 32(SI), Y8, Y1
	VMAXPS 64(SI), Y8, Y2
	VMAXPS 96(SI), Y8, Y3
	VMINPS Y0, Y9, Y0
	VMINPS Y1, Y9, Y1
	VMINPS Y2, Y9, Y2
	VMINPS Y3, Y9, Y3
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	VMOVUPS Y2, 64(DI)
	VMOVUPS Y3, 96(DI)
	ADDQ $128, SI
	ADDQ $128, DI
	DECQ CX
	JNE cLoop

cDone:
	VZEROUPPER
	RET
