//go:build amd64 && !purego

#include "textflag.h"

// func dw3x3AVX2(dst, src, w *float32, masks *int32, h, oh, iw, ow, padT, padL, plain int, bias float32)
//
// One output plane of a 3x3, stride 1, dilation 1 convolution of one input
// plane (h rows of iw values) into oh rows of ow <= 16 values, with padT
// rows of zero padding on top (left padding and the right edge are in the
// masks). masks holds 8 rows of 8 int32 lane masks: rows 2·kw and 2·kw+1
// select, for column tap kw, the lanes of the low and high halves of an
// output row whose input column exists; rows 6 and 7 select the output
// lanes below ow. Masked-off lanes are neither read nor written, so no
// access strays outside the planes. The loads of tap kw start at input
// column kw - padL of their row (the masks keep the reads inside it).
// The first plain rows are stored whole (8 values, or 16 when ow > 8): what
// spills into the next row is overwritten when that row is stored (masked
// stores are slow on some CPUs); the caller makes sure the spill stays in
// the plane. The other rows are stored through the output masks.
TEXT ·dw3x3AVX2(SB), NOSPLIT, $0-92
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ w+16(FP), DX
	MOVQ masks+24(FP), R8
	MOVQ h+32(FP), R9
	MOVQ oh+40(FP), R10
	MOVQ iw+48(FP), R11
	MOVQ ow+56(FP), R12
	MOVQ padT+64(FP), R13
	MOVQ padL+72(FP), AX
	SHLQ $2, AX
	SUBQ AX, SI // column -padL of row 0: only masked lanes read there
	MOVQ plain+80(FP), R14
	VBROADCASTSS bias+88(FP), Y6
	VBROADCASTSS 0(DX), Y7
	VBROADCASTSS 4(DX), Y8
	VBROADCASTSS 8(DX), Y9
	VBROADCASTSS 12(DX), Y10
	VBROADCASTSS 16(DX), Y11
	VBROADCASTSS 20(DX), Y12
	VBROADCASTSS 24(DX), Y13
	VBROADCASTSS 28(DX), Y14
	VBROADCASTSS 32(DX), Y15
	SHLQ $2, R11 // input row stride in bytes
	SHLQ $2, R12 // output row stride in bytes
	XORQ CX, CX  // output row

rowLoop:
	CMPQ CX, R10
	JGE done
	VMOVAPS Y6, Y0
	VMOVAPS Y6, Y1

	// Input row ih = CX - padT + kh for kh = 0, 1, 2.
	MOVQ CX, AX
	SUBQ R13, AX

	// kh = 0
	CMPQ AX, $0
	JLT kh1
	CMPQ AX, R9
	JGE kh1
	MOVQ AX, BX
	IMULQ R11, BX
	LEAQ (SI)(BX*1), BX
	VMOVDQU 0(R8), Y4
	VMOVDQU 32(R8), Y5
	VMASKMOVPS 0(BX), Y4, Y2
	VMASKMOVPS 32(BX), Y5, Y3
	VFMADD231PS Y2, Y7, Y0
	VFMADD231PS Y3, Y7, Y1
	VMOVDQU 64(R8), Y4
	VMOVDQU 96(R8), Y5
	VMASKMOVPS 4(BX), Y4, Y2
	VMASKMOVPS 36(BX), Y5, Y3
	VFMADD231PS Y2, Y8, Y0
	VFMADD231PS Y3, Y8, Y1
	VMOVDQU 128(R8), Y4
	VMOVDQU 160(R8), Y5
	VMASKMOVPS 8(BX), Y4, Y2
	VMASKMOVPS 40(BX), Y5, Y3
	VFMADD231PS Y2, Y9, Y0
	VFMADD231PS Y3, Y9, Y1

kh1:
	INCQ AX
	CMPQ AX, $0
	JLT kh2
	CMPQ AX, R9
	JGE kh2
	MOVQ AX, BX
	IMULQ R11, BX
	LEAQ (SI)(BX*1), BX
	VMOVDQU 0(R8), Y4
	VMOVDQU 32(R8), Y5
	VMASKMOVPS 0(BX), Y4, Y2
	VMASKMOVPS 32(BX), Y5, Y3
	VFMADD231PS Y2, Y10, Y0
	VFMADD231PS Y3, Y10, Y1
	VMOVDQU 64(R8), Y4
	VMOVDQU 96(R8), Y5
	VMASKMOVPS 4(BX), Y4, Y2
	VMASKMOVPS 36(BX), Y5, Y3
	VFMADD231PS Y2, Y11, Y0
	VFMADD231PS Y3, Y11, Y1
	VMOVDQU 128(R8), Y4
	VMOVDQU 160(R8), Y5
	VMASKMOVPS 8(BX), Y4, Y2
	VMASKMOVPS 40(BX), Y5, Y3
	VFMADD231PS Y2, Y12, Y0
	VFMADD231PS Y3, Y12, Y1

kh2:
	INCQ AX
	CMPQ AX, $0
	JLT store
	CMPQ AX, R9
	JGE store
	MOVQ AX, BX
	IMULQ R11, BX
	LEAQ (SI)(BX*1), BX
	VMOVDQU 0(R8), Y4
	VMOVDQU 32(R8), Y5
	VMASKMOVPS 0(BX), Y4, Y2
	VMASKMOVPS 32(BX), Y5, Y3
	VFMADD231PS Y2, Y13, Y0
	VFMADD231PS Y3, Y13, Y1
	VMOVDQU 64(R8), Y4
	VMOVDQU 96(R8), Y5
	VMASKMOVPS 4(BX), Y4, Y2
	VMASKMOVPS 36(BX), Y5, Y3
	VFMADD231PS Y2, Y14, Y0
	VFMADD231PS Y3, Y14, Y1
	VMOVDQU 128(R8), Y4
	VMOVDQU 160(R8), Y5
	VMASKMOVPS 8(BX), Y4, Y2
	VMASKMOVPS 40(BX), Y5, Y3
	VFMADD231PS Y2, Y15, Y0
	VFMADD231PS Y3, Y15, Y1

store:
	CMPQ CX, R14
	JGE masked
	VMOVUPS Y0, 0(DI)
	CMPQ R12, $32 // ow > 8: the high half too
	JLE next
	VMOVUPS Y1, 32(DI)
	JMP next

masked:
	VMOVDQU 192(R8), Y4
	VMOVDQU 224(R8), Y5
	VMASKMOVPS Y0, Y4, 0(DI)
	VMASKMOVPS Y1, Y5, 32(DI)

next:
	ADDQ R12, DI
	INCQ CX
	JMP rowLoop

done:
	VZEROUPPER
	RET

// func dw3x3NarrowAVX2(dst, src, w *float32, masks *int32, h, oh, iw, ow, padT, padL, plain int, bias float32)
//
// dw3x3AVX2 for ow <= 8: the low half only.
TEXT ·dw3x3NarrowAVX2(SB), NOSPLIT, $0-92
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ w+16(FP), DX
	MOVQ masks+24(FP), R8
	MOVQ h+32(FP), R9
	MOVQ oh+40(FP), R10
	MOVQ iw+48(FP), R11
	MOVQ ow+56(FP), R12
	MOVQ padT+64(FP), R13
	MOVQ padL+72(FP), AX
	SHLQ $2, AX
	SUBQ AX, SI // column -padL of row 0: only masked lanes read there
	MOVQ plain+80(FP), R14
	VBROADCASTSS bias+88(FP), Y6
	VBROADCASTSS 0(DX), Y7
	VBROADCASTSS 4(DX), Y8
	VBROADCASTSS 8(DX), Y9
	VBROADCASTSS 12(DX), Y10
	VBROADCASTSS 16(DX), Y11
	VBROADCASTSS 20(DX), Y12
	VBROADCASTSS 24(DX), Y13
	VBROADCASTSS 28(DX), Y14
	VBROADCASTSS 32(DX), Y15
	SHLQ $2, R11 // input row stride in bytes
	SHLQ $2, R12 // output row stride in bytes
	XORQ CX, CX  // output row

rowLoop:
	CMPQ CX, R10
	JGE done
	VMOVAPS Y6, Y0

	// Input row ih = CX - padT + kh for kh = 0, 1, 2.
	MOVQ CX, AX
	SUBQ R13, AX

	// kh = 0
	CMPQ AX, $0
	JLT kh1
	CMPQ AX, R9
	JGE kh1
	MOVQ AX, BX
	IMULQ R11, BX
	LEAQ (SI)(BX*1), BX
	VMOVDQU 0(R8), Y4
	VMASKMOVPS 0(BX), Y4, Y2
	VFMADD231PS Y2, Y7, Y0
	VMOVDQU 64(R8), Y4
	VMASKMOVPS 4(BX), Y4, Y2
	VFMADD231PS Y2, Y8, Y0
	VMOVDQU 128(R8), Y4
	VMASKMOVPS 8(BX), Y4, Y2
	VFMADD231PS Y2, Y9, Y0

kh1:
	INCQ AX
	CMPQ AX, $0
	JLT kh2
	CMPQ AX, R9
	JGE kh2
	MOVQ AX, BX
	IMULQ R11, BX
	LEAQ (SI)(BX*1), BX
	VMOVDQU 0(R8), Y4
	VMASKMOVPS 0(BX), Y4, Y2
	VFMADD231PS Y2, Y10, Y0
	VMOVDQU 64(R8), Y4
	VMASKMOVPS 4(BX), Y4, Y2
	VFMADD231PS Y2, Y11, Y0
	VMOVDQU 128(R8), Y4
	VMASKMOVPS 8(BX), Y4, Y2
	VFMADD231PS Y2, Y12, Y0

kh2:
	INCQ AX
	CMPQ AX, $0
	JLT store
	CMPQ AX, R9
	JGE store
	MOVQ AX, BX
	IMULQ R11, BX
	LEAQ (SI)(BX*1), BX
	VMOVDQU 0(R8), Y4
	VMASKMOVPS 0(BX), Y4, Y2
	VFMADD231PS Y2, Y13, Y0
	VMOVDQU 64(R8), Y4
	VMASKMOVPS 4(BX), Y4, Y2
	VFMADD231PS Y2, Y14, Y0
	VMOVDQU 128(R8), Y4
	VMASKMOVPS 8(BX), Y4, Y2
	VFMADD231PS Y2, Y15, Y0

store:
	CMPQ CX, R14
	JGE masked
	VMOVUPS Y0, 0(DI)
	JMP next

masked:
	VMOVDQU 192(R8), Y4
	VMASKMOVPS Y0, Y4, 0(DI)

next:
	ADDQ R12, DI
	INCQ CX
	JMP rowLoop

done:
	VZEROUPPER
	RET
